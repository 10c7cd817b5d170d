/** The ids fill-rows.ts generates, so the benchmark can ask for rows that exist. */
export function viewerUuid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}
export function filmUuid(i: number): string {
  return `11111111-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}
