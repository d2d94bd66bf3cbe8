import { describe, expect, test } from "bun:test";
import { chooseCredentials, normalizeServerAddress } from "../../../src/registry/credentials.ts";
import { realmCredential } from "../../../src/registry/realm-credential.ts";

describe("credential choice", () => {
  const entries: { username: string; serverAddress?: string }[] = [
    { username: "default-user" },
    { username: "hub-user", serverAddress: "https://index.docker.io/v1/" },
    { username: "local-user", serverAddress: "127.0.0.1:5000" },
    { username: "other-user", serverAddress: "Reg.Example:443" },
  ];

  test("an exact server match wins over the default entry", () => {
    expect(chooseCredentials(entries, "127.0.0.1:5000")?.username).toBe("local-user");
    expect(chooseCredentials(entries, "docker.io")?.username).toBe("hub-user");
    expect(chooseCredentials(entries, "reg.example:443")?.username).toBe("other-user");
  });

  test("otherwise the entry without a server, else none", () => {
    expect(chooseCredentials(entries, "127.0.0.1:5001")?.username).toBe("default-user");
    expect(chooseCredentials(entries, "reg.example")?.username).toBe("default-user");
    expect(chooseCredentials(entries.slice(1), "quay.io")).toBeUndefined();
    expect(chooseCredentials(undefined, "quay.io")).toBeUndefined();
    expect(chooseCredentials([], "quay.io")).toBeUndefined();
  });

  test("the default entry is chosen regardless of its position", () => {
    expect(chooseCredentials([...entries.slice(1), ...entries.slice(0, 1)], "ghcr.io")?.username).toBe("default-user");
  });

  test("server addresses are compared without scheme, path or case; Hub has several names", () => {
    expect(normalizeServerAddress("https://index.docker.io/v1/")).toBe("docker.io");
    expect(normalizeServerAddress("registry-1.docker.io")).toBe("docker.io");
    expect(normalizeServerAddress("HTTP://Reg.Example:5000/")).toBe("reg.example:5000");
  });

  test("the realm's password is looked up for the chosen entry; without one, anonymous", () => {
    const passwords = new Map([["127.0.0.1:5000 local-user", "pw"]]);
    const lookup = (e: { serverAddress?: string | undefined; username: string }) => passwords.get(`${e.serverAddress ?? ""} ${e.username}`);
    expect(realmCredential(entries, "127.0.0.1:5000/a:b", lookup)).toEqual({ username: "local-user", password: "pw" });
    expect(realmCredential(entries, "quay.io/a", lookup)).toBeUndefined();
  });
});
