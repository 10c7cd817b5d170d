/**
 * TLS listeners a local broker can open next to its PLAINTEXT one (tests of the clients'
 * TLS and SASL settings): SSL (mutual TLS with `clientCaFile`) on port base+200+i and
 * SASL_SSL with SCRAM-SHA-256 on base+300+i for node i (0-based). Inter-broker and
 * controller traffic stay PLAINTEXT.
 */
export interface SecureListeners {
  /** Kafka PEM keystore: the private key (unencrypted PKCS#8), then the certificate chain. */
  keystoreFile: string;
  /** SCRAM-SHA-256 users of the SASL_SSL listener, stored in the cluster metadata at format. */
  scramUsers: { name: string; password: string }[];
  /** PEM CA(s): set, the SSL listener requires a client certificate they signed (mutual TLS). */
  clientCaFile?: string;
}

export const SSL_PORT_OFFSET = 200;
export const SASL_SSL_PORT_OFFSET = 300;

/** kafka.sh's KAFKA_SCRAM_CREDENTIALS: one StorageTool --add-scram argument per line. */
export function scramCredentials(secure: SecureListeners): string {
  return secure.scramUsers.map((u) => `SCRAM-SHA-256=[name=${u.name},password=${u.password}]`).join('\n');
}

/** Lines appended to a node's server.properties; a later key overrides the one kafka.sh wrote. */
export function secureListenerProperties(secure: SecureListeners, basePort: number, index: number): string {
  const at = (offset: number) => `127.0.0.1:${basePort + offset + index}`;
  const client = `PLAINTEXT://${at(0)},SSL://${at(SSL_PORT_OFFSET)},SASL_SSL://${at(SASL_SSL_PORT_OFFSET)}`;
  return [
    '',
    '# TLS listeners (LocalKafka `secure`)',
    `listeners=${client},CONTROLLER://${at(100)}`,
    `advertised.listeners=${client}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL',
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${secure.keystoreFile}`,
    ...(secure.clientCaFile === undefined
      ? []
      : [
          'ssl.truststore.type=PEM',
          `ssl.truststore.location=${secure.clientCaFile}`,
          'listener.name.ssl.ssl.client.auth=required',
        ]),
    'sasl.enabled.mechanisms=SCRAM-SHA-256',
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    '',
  ].join('\n');
}
