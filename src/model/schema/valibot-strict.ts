/**
 * @module
 * valibot, with `strictObject` and `record` that refuse a list. valibot 1.5
 * takes an array wherever an object schema is expected (an empty list passes
 * `v.strictObject({...})` as `{}`, and `v.record` reads a list as a map
 * "0", "1", …), so `annotations: []`, `tty: []`, `capabilities: []` or
 * `resources: []` were stored as if they were mappings (issue 13). Every
 * schema file imports valibot from here, so the rule lives in one place.
 */
import * as valibot from "valibot";

export * from "valibot";

type AnySchema = valibot.BaseSchema<unknown, unknown, valibot.BaseIssue<unknown>>;

/** The same schema, but a list fails it with valibot's own type issue ("must be a mapping (got a list)"). */
function refusingLists<T extends AnySchema>(schema: T): T {
  const run = schema["~run"].bind(schema);
  return {
    ...schema,
    "~run"(dataset: valibot.UnknownDataset, config: valibot.Config<valibot.BaseIssue<unknown>>) {
      if (!Array.isArray(dataset.value)) return run(dataset, config);
      const issue = {
        kind: "schema" as const,
        type: schema.type,
        input: dataset.value,
        expected: "Object",
        received: "Array",
        message: "Invalid type: Expected Object but received Array",
        requirement: undefined,
        path: undefined,
        issues: undefined,
        lang: config.lang,
        abortEarly: config.abortEarly,
        abortPipeEarly: config.abortPipeEarly,
      };
      return { typed: false, value: dataset.value, issues: [issue] } as unknown as ReturnType<T["~run"]>;
    },
  };
}

export const strictObject = ((...args: unknown[]) =>
  refusingLists((valibot.strictObject as (...a: unknown[]) => AnySchema)(...args))) as typeof valibot.strictObject;

export const record = ((...args: unknown[]) =>
  refusingLists((valibot.record as (...a: unknown[]) => AnySchema)(...args))) as typeof valibot.record;
