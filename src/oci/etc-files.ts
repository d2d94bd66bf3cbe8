/**
 * @module
 * Parsers for an image's /etc/passwd and /etc/group, as libc reads them:
 * `name:password:uid:gid:...` and `name:password:gid:member,member`. Blank
 * lines, comments, NIS compat lines (`+`/`-`) and malformed lines are skipped
 * rather than fatal, because images ship such files and getpwnam copes too.
 */

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Largest id the kernel accepts; (uid_t)-1 means "no change" and is never valid. */
export const MAX_ID = 0xfffffffe;

export function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

function usableLines(content: string | undefined): string[][] {
  if (content === undefined) return [];
  const rows: string[][] = [];
  for (const raw of content.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    rows.push(line.split(":"));
  }
  return rows;
}

export function parsePasswd(content: string | undefined): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const fields of usableLines(content)) {
    const [name, , uidText, gidText] = fields;
    if (fields.length < 4 || !name || uidText === undefined || gidText === undefined) continue;
    const uid = parseId(uidText);
    const gid = parseId(gidText);
    if (uid === undefined || gid === undefined) continue;
    entries.push({ name, uid, gid });
  }
  return entries;
}

export function parseGroup(content: string | undefined): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const fields of usableLines(content)) {
    const [name, , gidText, memberText] = fields;
    if (fields.length < 3 || !name || gidText === undefined) continue;
    const gid = parseId(gidText);
    if (gid === undefined) continue;
    const members = (memberText ?? "").split(",").map((m) => m.trim()).filter((m) => m !== "");
    entries.push({ name, gid, members });
  }
  return entries;
}
