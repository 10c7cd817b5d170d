/** How much the analytics bench generates: progress events, and the viewers and films they are about. */
export interface Volume {
  progressEvents: number;
  viewers: number;
  films: number;
  /** The events span this many days up to the run. */
  days: number;
}

const HEARTBEAT_SEC = 30;

/**
 * INSERT … SELECT statements that fill the migrated tables in the engine itself (a JSON
 * round trip per row would take longer than the queries measured). Viewing sessions of a
 * viewer and a film: films of 20 min to 3 h, popularity skewed towards a few titles, a
 * third of sessions watched to the end, the rest stopped anywhere; a position every 30 s
 * from a start time in the last `days` days (ending by now). User events and experiment exposures (one to
 * three devices per viewer, three experiments, some devices without a viewer) for the same
 * viewers, at a fifth and a tenth of the events.
 */
export function fillStatements(database: string, v: Volume, endMs: number): string[] {
  const end = `toDateTime64(${endMs / 1000}, 3, 'UTC')`;
  const span = v.days * 86_400;
  const viewer = (n: string) => `reinterpretAsUUID(MD5(concat('viewer-', toString(${n}))))`;
  // Sessions enough for the volume (about 130 events each on average); LIMIT cuts the last.
  const sessions = Math.ceil(v.progressEvents / 60);
  return [
    `INSERT INTO ${database}.progress_events
       (event_id, viewer_id, film_id, position_sec, duration_sec, occurred_at, received_at,
        schema_version, kafka_partition, kafka_offset)
     SELECT generateUUIDv4(k), ${viewer('v')}, reinterpretAsUUID(MD5(concat('film-', toString(f)))),
       toUInt32(least(k * ${HEARTBEAT_SEC}, stop)), toUInt32(d),
       start_at + toIntervalMillisecond(k * ${HEARTBEAT_SEC * 1000} + cityHash64(s, k) % 1000) AS at,
       at + toIntervalMillisecond(40 + cityHash64(s, k, 'lag') % 400),
       1, toUInt32(cityHash64(v) % 6), rowNumberInAllBlocks()
     FROM (
       SELECT number AS s, cityHash64(s, 'viewer') % ${v.viewers} AS v,
         toUInt32(floor(${v.films} * pow((cityHash64(s, 'film') % 1000000) / 1e6, 2))) AS f,
         1200 + cityHash64(f, 'length') % 9600 AS d,
         if(cityHash64(s, 'finish') % 3 = 0, d, toUInt32(d * (0.02 + 0.98 * (cityHash64(s, 'stop') % 1000000) / 1e6))) AS stop,
         ${end} - toIntervalSecond(10800 + cityHash64(s, 'start') % ${span - 10_800}) AS start_at
       FROM numbers(${sessions}))
     ARRAY JOIN range(toUInt32(intDiv(stop + ${HEARTBEAT_SEC - 1}, ${HEARTBEAT_SEC}) + 1)) AS k
     LIMIT ${v.progressEvents}`,
    `INSERT INTO ${database}.user_events
       (event_id, viewer_id, event_type, occurred_at, received_at, properties,
        schema_version, kafka_partition, kafka_offset)
     SELECT generateUUIDv4(number), ${viewer('v')},
       ['player.pause', 'player.pause', 'player.pause', 'player.seek', 'player.seek', 'page.view',
        'page.view', 'page.view', 'search', 'rating'][1 + cityHash64(number, 'type') % 10],
       ${end} - toIntervalMillisecond(cityHash64(number, 'at') % ${span * 1000}) AS at,
       at + toIntervalMillisecond(80), '{}', 1, toUInt32(cityHash64(v) % 6), number
     FROM (SELECT number, cityHash64(number, 'viewer') % ${v.viewers} AS v
           FROM numbers(${Math.round(v.progressEvents / 5)}))`,
    `INSERT INTO ${database}.experiment_exposures
       (event_id, device_id, viewer_id, experiment, option_index, value, received_at,
        schema_version, kafka_partition, kafka_offset)
     SELECT generateUUIDv4(number), device,
       if(cityHash64(device, 'anonymous') % 100 < 15, NULL, ${viewer('v')}),
       experiment, toUInt8(cityHash64(device, experiment) % 2) AS option,
       if(option = 0, 'false', 'true'),
       ${end} - toIntervalMillisecond(cityHash64(number, 'at') % ${span * 1000}),
       1, toUInt32(cityHash64(device) % 6), number
     FROM (SELECT number, cityHash64(number, 'viewer') % ${v.viewers} AS v,
             concat('dev-', lower(hex(MD5(concat(toString(v), '-', toString(cityHash64(number, 'device') % (1 + v % 3))))))) AS device,
             ['home.rows', 'player.autoplay', 'pricing.banner'][1 + number % 3] AS experiment
           FROM numbers(${Math.round(v.progressEvents / 10)}))`,
  ];
}
