/** `url` with its database replaced by `database`: the same server, user and options. */
export function withDatabase(url: string | URL, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
