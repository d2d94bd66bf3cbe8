/**
 * @module
 * process.user from the container's `user`, else the image's, else root.
 * Forms: `name`, `uid`, `name:group`, `uid:gid` (and the mixes). A name is
 * looked up in the image's /etc/passwd and must exist (containerd's
 * WithUsername fails the same way); a bare uid missing from passwd runs with
 * gid 0 (containerd's WithUserID). Supplementary groups are the /etc/group
 * entries that list the user, led by the primary gid, as containerd 1.6.18+
 * writes them (CVE-2023-25173: without the primary gid in the list the process
 * could keep groups it should not have).
 */
import { parseGroup, parseId, parsePasswd, type PasswdEntry } from "./etc-files.ts";
import type { ImageConfig } from "./inputs.ts";
import { refuse } from "./refuse.ts";
import type { OciUser } from "./types.ts";

/** Errors always name the container field `user`, even when the value came from the image. */
const FIELD = "user";

export function resolveUser(containerUser: string | undefined, image: ImageConfig): OciUser {
  const fromContainer = containerUser !== undefined && containerUser !== "";
  const text = fromContainer ? containerUser : image.user ?? "";
  if (text === "") return withGroups(0, 0, "root", image);
  const origin = fromContainer ? `"${text}"` : `image user "${text}"`;

  const colon = text.indexOf(":");
  const userPart = colon === -1 ? text : text.slice(0, colon);
  const groupPart = colon === -1 ? undefined : text.slice(colon + 1);
  if (userPart === "" || groupPart === "") throw refuse(FIELD, `${origin} is not name, uid, or uid:gid`);

  const passwd = parsePasswd(image.passwd);
  let uid: number;
  let gid: number;
  let name: string | undefined;
  const numericUid = parseId(userPart);
  if (numericUid !== undefined) {
    const entry: PasswdEntry | undefined = passwd.find((p) => p.uid === numericUid);
    uid = numericUid;
    gid = entry?.gid ?? 0;
    name = entry?.name;
  } else if (/^\d+$/.test(userPart)) {
    throw refuse(FIELD, `${origin}: uid out of range`);
  } else {
    if (image.passwd === undefined) throw refuse(FIELD, `${origin}: the image has no /etc/passwd to look the name up in`);
    const entry = passwd.find((p) => p.name === userPart);
    if (entry === undefined) throw refuse(FIELD, `${origin}: no user "${userPart}" in the image's /etc/passwd`);
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  }

  if (groupPart !== undefined) {
    const numericGid = parseId(groupPart);
    if (numericGid !== undefined) {
      gid = numericGid;
    } else if (/^\d+$/.test(groupPart)) {
      throw refuse(FIELD, `${origin}: gid out of range`);
    } else {
      const group = parseGroup(image.group).find((g) => g.name === groupPart);
      if (group === undefined) throw refuse(FIELD, `${origin}: no group "${groupPart}" in the image's /etc/group`);
      gid = group.gid;
    }
  }
  return withGroups(uid, gid, name, image);
}

function withGroups(uid: number, gid: number, name: string | undefined, image: ImageConfig): OciUser {
  const additionalGids = [gid];
  if (name !== undefined) {
    for (const group of parseGroup(image.group)) {
      if (group.members.includes(name) && !additionalGids.includes(group.gid)) additionalGids.push(group.gid);
    }
  }
  return { uid, gid, additionalGids };
}
