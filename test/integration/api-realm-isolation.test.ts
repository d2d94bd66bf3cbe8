/**
 * Issue 13, "no realm can harm another", against a real containerd: a realm
 * whose spec names another realm's namespace can neither adopt it nor, when
 * deleted, remove what it holds; a realm's own delete removes only the
 * records labelled as its own (a record someone else put in its namespace,
 * and the images and namespace it needs, stay). Before the fix deleteRealm
 * removed every container and image of whatever namespace the spec named.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { listImages, removeImage } from "../../src/containerd/image-store.ts";
import type { RealmDocument } from "../../src/model/schema/realm.ts";
import { purgeCellRemains } from "../../src/runtime/cell-purge.ts";
import { deleteRealm, ensureRealm } from "../../src/runtime/realm-ops.ts";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot } from "../harness/index.ts";
import { doc, IMAGE, startRuntimeEnv, type RuntimeEnv } from "./runtime-helpers.ts";

const SUITE = "realm isolation (containerd)";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES]);

describe.skipIf(!ready)(SUITE, () => {
  let env: RuntimeEnv;
  const ownId = `own${randomId(3)}`;
  const foreignId = `foreign${randomId(3)}`;

  beforeAll(async () => {
    env = await startRuntimeEnv();
    const client = env.cd.client.withNamespace(env.namespace);
    const realm = env.realm.metadata.name;
    // Records only: no task is needed to prove who may remove them.
    await client.containers.create({ id: ownId, spec: {}, labels: { "io.keon.managed": "true", "io.keon.realm": realm, "io.keon.cell": "s/k/c" } });
    await client.containers.create({ id: foreignId, spec: {}, labels: { "made-by": "ctr" } });
  }, 120_000);

  afterAll(async () => {
    const client = env.cd.client.withNamespace(env.namespace);
    for (const container of await client.containers.list()) await client.containers.delete(container.id);
    for (const image of await listImages(client)) await removeImage(client, image.name);
    if ((await env.cd.client.namespaces.find(env.namespace)) !== null) await env.cd.client.namespaces.delete(env.namespace);
    await env.cd.stop();
  }, 120_000);

  const intruder = (): RealmDocument => doc<RealmDocument>({ kind: "Realm", metadata: { name: `in${randomId(3)}` }, spec: { namespace: env.namespace } });

  test("a realm naming another realm's namespace cannot adopt it", async () => {
    await expect(ensureRealm(env.ctx, intruder())).rejects.toMatchObject({ code: "CONFLICT" });
    const labels = (await env.cd.client.namespaces.get(env.namespace)).labels;
    expect(labels["io.keon.realm"]).toBe(env.realm.metadata.name);
  });

  test("deleting that realm removes nothing of the other realm's namespace", async () => {
    await deleteRealm(env.ctx, intruder(), { cascade: true });
    const client = env.cd.client.withNamespace(env.namespace);
    expect((await client.containers.list()).map((c) => c.id).sort()).toEqual([foreignId, ownId].sort());
    expect((await listImages(client)).map((i) => i.name)).toContain(IMAGE);
  });

  test("a cell's purge removes the records labelled as that cell's only, whatever their IDs share", async () => {
    const client = env.cd.client.withNamespace(env.namespace);
    const realm = env.realm.metadata.name;
    const scope = { realm, space: "s", stack: "k", cell: "c" };
    const mine = "s_k_c_app";
    const otherRealms = "s_k_c_theirs";
    await client.containers.create({ id: mine, spec: {}, labels: { "io.keon.managed": "true", "io.keon.realm": realm, "io.keon.cell": "s/k/c" } });
    await client.containers.create({ id: otherRealms, spec: {}, labels: { "io.keon.managed": "true", "io.keon.realm": "someone-else", "io.keon.cell": "s/k/c" } });
    await purgeCellRemains(env.ctx, { namespace: env.namespace, scope });
    const left = (await client.containers.list()).map((c) => c.id);
    expect(left).not.toContain(mine);
    expect(left).toContain(otherRealms);
    await client.containers.delete(otherRealms);
  });

  test("a realm's own delete removes its labelled records only; a record it did not make keeps the namespace and images", async () => {
    await deleteRealm(env.ctx, env.realm, { cascade: true });
    const client = env.cd.client.withNamespace(env.namespace);
    expect((await client.containers.list()).map((c) => c.id)).toEqual([foreignId]);
    expect((await listImages(client)).map((i) => i.name)).toContain(IMAGE);
    expect(await env.cd.client.namespaces.find(env.namespace)).not.toBeNull();
  });
});
