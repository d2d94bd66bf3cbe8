import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { parsePortMapping, parsePortMappings, portBindingsClash } from "../../../src/network/ports.ts";

describe("parsePortMapping", () => {
  test("every accepted form", () => {
    expect(parsePortMapping("8080:80")).toEqual({ hostPort: 8080, containerPort: 80, protocol: "tcp" });
    expect(parsePortMapping("8080:80/tcp")).toEqual({ hostPort: 8080, containerPort: 80, protocol: "tcp" });
    expect(parsePortMapping("53:5353/udp")).toEqual({ hostPort: 53, containerPort: 5353, protocol: "udp" });
    expect(parsePortMapping("127.0.0.1:8080:80")).toEqual({ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" });
    expect(parsePortMapping("192.0.2.7:1:65535/udp")).toEqual({ hostPort: 1, containerPort: 65535, protocol: "udp", hostIP: "192.0.2.7" });
    // 0.0.0.0 is "every address": portmap wants the field absent.
    expect(parsePortMapping("0.0.0.0:8080:80")).toEqual({ hostPort: 8080, containerPort: 80, protocol: "tcp" });
    // Leading zeros in a port are plain decimal (the model accepts them too).
    expect(parsePortMapping("080:0080")).toEqual({ hostPort: 80, containerPort: 80, protocol: "tcp" });
  });

  test("invalid entries are INVALID_DOCUMENT", () => {
    const bad = [
      "", "80", "0:80", "80:0", "65536:80", "80:65536", "8080:80/sctp", "8080:80/TCP", "8080:80/", "a:80", "80:b",
      "::1:80:80", "[::1]:80:80", "localhost:80:80", "256.0.0.1:80:80", "010.0.0.1:80:80", "1.2.3:80:80", "8000-8010:80", "00:80", "123456:80",
      " 80:80", "80:80 ",
    ];
    for (const entry of bad) {
      const err = (() => { try { parsePortMapping(entry); } catch (e) { return e; } })();
      expect(err, entry).toBeInstanceOf(KeonError);
      expect((err as KeonError).code, entry).toBe("INVALID_DOCUMENT");
    }
  });

  test("clashing bindings within a cell are CONFLICT", () => {
    expect(parsePortMappings(["8080:80", "8080:80/udp", "127.0.0.1:9090:90", "192.0.2.1:9090:90"])).toHaveLength(4);
    for (const pair of [["8080:80", "8080:81"], ["8080:80", "127.0.0.1:8080:81"], ["127.0.0.1:8080:80", "8080:80/tcp"]]) {
      const err = (() => { try { parsePortMappings(pair); } catch (e) { return e; } })();
      expect((err as KeonError).code).toBe("CONFLICT");
    }
    expect(portBindingsClash(parsePortMapping("1.2.3.4:80:80"), parsePortMapping("1.2.3.5:80:80"))).toBe(false);
  });
});
