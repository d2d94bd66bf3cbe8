/**
 * @module
 * A small emulator of cgroup2's rules over a temporary directory, used only
 * by unit tests of apply and removal. It enforces what the kernel enforces
 * (kernel/cgroup/cgroup.c) so a wrong order of writes fails here as it would
 * on a host:
 * - mkdir creates `cgroup.controllers` (the parent's `cgroup.subtree_control`,
 *   read live as the kernel does), an empty `cgroup.subtree_control` and an
 *   empty `cgroup.procs`;
 * - `+x` in `cgroup.subtree_control`: EINVAL for an unknown name, ENOENT when x
 *   is not in the cgroup's own `cgroup.controllers`, EBUSY when a non-root
 *   cgroup holds processes; `-x`: EBUSY while a child still enables x;
 * - a pid written to `cgroup.procs` leaves its old cgroup; EBUSY when the
 *   target is a non-root cgroup that enables controllers;
 * - rmdir: EBUSY with children or processes, ENOENT when gone; the emulated
 *   `cgroup.*` files are deleted with it, as the kernel's vanish.
 * Every successful mutation is logged so tests can check the order.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { CgroupFs } from "../../../src/cgroup/cgroup-fs.ts";
import { V2_CONTROLLERS } from "../../../src/cgroup/controllers.ts";

export type FakeOp =
  | { op: "mkdir"; path: string }
  | { op: "rmdir"; path: string }
  | { op: "enable" | "disable"; path: string; controller: string }
  | { op: "move"; path: string; pid: number };

function errno(code: string, message: string): NodeJS.ErrnoException {
  const error = new Error(`${code}: ${message}`) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}

const INTERFACE_FILES = ["cgroup.subtree_control", "cgroup.procs"] as const;
const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== "");

export class FakeCgroupFs implements CgroupFs {
  readonly root: string;
  readonly log: FakeOp[] = [];
  private readonly hostControllers: string[];

  constructor(hostControllers: readonly string[]) {
    this.root = mkdtempSync("/tmp/keon-unit-cgroupfs-");
    this.hostControllers = [...hostControllers];
    writeFileSync(join(this.root, "cgroup.controllers"), this.hostControllers.join(" "));
    for (const file of INTERFACE_FILES) writeFileSync(join(this.root, file), "");
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Relative path for the log (`""` is the root). */
  private rel(path: string): string {
    return relative(this.root, path);
  }

  private isCgroup(dir: string): boolean {
    return existsSync(join(dir, "cgroup.procs"));
  }

  private controllersOf(dir: string): string[] {
    if (dir === this.root) return [...this.hostControllers];
    return words(readFileSync(join(dirname(dir), "cgroup.subtree_control"), "utf8"));
  }

  private procsOf(dir: string): number[] {
    return words(readFileSync(join(dir, "cgroup.procs"), "utf8")).map(Number);
  }

  private cgroupsUnder(dir: string): string[] {
    return this.childCgroups(dir).map((name) => join(dir, name));
  }

  mkdir(path: string): void {
    if (existsSync(path)) throw errno("EEXIST", path);
    if (!this.isCgroup(dirname(path))) throw errno("ENOENT", path);
    mkdirSync(path);
    for (const file of INTERFACE_FILES) writeFileSync(join(path, file), "");
    this.log.push({ op: "mkdir", path: this.rel(path) });
  }

  rmdir(path: string): void {
    if (!existsSync(path)) throw errno("ENOENT", path);
    if (this.cgroupsUnder(path).length > 0 || this.procsOf(path).length > 0) throw errno("EBUSY", path);
    for (const file of INTERFACE_FILES) unlinkSync(join(path, file));
    rmdirSync(path);
    this.log.push({ op: "rmdir", path: this.rel(path) });
  }

  readFile(path: string): string {
    const dir = dirname(path);
    if (path.endsWith("/cgroup.controllers") && this.isCgroup(dir)) return `${this.controllersOf(dir).join(" ")}\n`;
    if (!existsSync(path)) throw errno("ENOENT", path);
    return readFileSync(path, "utf8");
  }

  writeFile(path: string, data: string): void {
    const dir = dirname(path);
    if (!this.isCgroup(dir)) throw errno("ENOENT", path);
    if (path.endsWith("/cgroup.subtree_control")) return this.writeSubtreeControl(dir, data);
    if (path.endsWith("/cgroup.procs")) return this.movePid(dir, Number.parseInt(data, 10));
    throw errno("EACCES", `${path} is not writable in the emulator`);
  }

  childCgroups(path: string): string[] {
    if (!existsSync(path)) throw errno("ENOENT", path);
    return readdirSync(path).filter((name) => statSync(join(path, name)).isDirectory());
  }

  /** Puts a pid in a cgroup as if a process had been started there (tests only). */
  spawnIn(dir: string, pid: number): void {
    this.movePid(dir, pid);
  }

  private writeSubtreeControl(dir: string, data: string): void {
    const file = join(dir, "cgroup.subtree_control");
    const enabled = words(readFileSync(file, "utf8"));
    const tokens = words(data);
    // The kernel validates the whole write before changing anything.
    for (const token of tokens) {
      const name = token.slice(1);
      if (!/^[+-]/.test(token) || !(V2_CONTROLLERS as readonly string[]).includes(name)) throw errno("EINVAL", token);
      if (token.startsWith("+")) {
        if (!this.controllersOf(dir).includes(name)) throw errno("ENOENT", `${name} not in ${dir}/cgroup.controllers`);
        if (dir !== this.root && this.procsOf(dir).length > 0) throw errno("EBUSY", `${dir} has processes`);
      } else if (this.cgroupsUnder(dir).some((child) => words(readFileSync(join(child, "cgroup.subtree_control"), "utf8")).includes(name))) {
        throw errno("EBUSY", `a child of ${dir} still enables ${name}`);
      }
    }
    for (const token of tokens) {
      const name = token.slice(1);
      const present = enabled.indexOf(name);
      if (token.startsWith("+") && present === -1) enabled.push(name);
      if (token.startsWith("-") && present !== -1) enabled.splice(present, 1);
      this.log.push({ op: token.startsWith("+") ? "enable" : "disable", path: this.rel(dir), controller: name });
    }
    // The kernel prints controllers in its own order, whatever order they were enabled in.
    writeFileSync(file, V2_CONTROLLERS.filter((c) => enabled.includes(c)).join(" "));
  }

  private movePid(dir: string, pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw errno("EINVAL", String(pid));
    if (dir !== this.root && words(readFileSync(join(dir, "cgroup.subtree_control"), "utf8")).length > 0) {
      throw errno("EBUSY", `${dir} enables controllers`);
    }
    this.forEachCgroup(this.root, (cgroup) => {
      const procs = this.procsOf(cgroup);
      if (procs.includes(pid)) writeFileSync(join(cgroup, "cgroup.procs"), procs.filter((p) => p !== pid).join("\n"));
    });
    writeFileSync(join(dir, "cgroup.procs"), [...this.procsOf(dir), pid].join("\n"));
    this.log.push({ op: "move", path: this.rel(dir), pid });
  }

  /** Kills a pid: it leaves whatever cgroup holds it. */
  exit(pid: number): void {
    this.forEachCgroup(this.root, (cgroup) => {
      const procs = this.procsOf(cgroup);
      if (procs.includes(pid)) writeFileSync(join(cgroup, "cgroup.procs"), procs.filter((p) => p !== pid).join("\n"));
    });
  }

  private forEachCgroup(dir: string, visit: (dir: string) => void): void {
    visit(dir);
    for (const child of this.cgroupsUnder(dir)) this.forEachCgroup(child, visit);
  }

  /**
   * The enables that came before their parent's enable of the same controller
   * (the hierarchy root's parent is the host, which offers `hostControllers`).
   * Empty when the log satisfies the kernel's top-down rule.
   */
  enablesBeforeParent(): FakeOp[] {
    const HOST = "\u0000host";
    const enabled = new Set(this.hostControllers.map((c) => `${HOST}:${c}`));
    const violations: FakeOp[] = [];
    for (const entry of this.log) {
      if (entry.op !== "enable") continue;
      const parent = entry.path === "" ? HOST : entry.path.includes("/") ? entry.path.slice(0, entry.path.lastIndexOf("/")) : "";
      if (!enabled.has(`${parent}:${entry.controller}`)) violations.push(entry);
      enabled.add(`${entry.path}:${entry.controller}`);
    }
    return violations;
  }
}
