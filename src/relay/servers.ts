/**
 * NATS servers as messages may show them: `nats://user:password@host:4222` loses its credentials (errors end
 * up in logs, and a message never prints a secret).
 */
export function serversText(servers: string | readonly string[]): string {
  return (typeof servers === 'string' ? [servers] : servers)
    .map((s) => s.replace(/\/\/[^@/]*@/, '//'))
    .join(', ')
}
