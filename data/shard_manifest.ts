/**
 * What one `writeTFRecords` call produced, recorded in `<name>.shards.json` beside the shards and
 * written last (atomically), so the manifest is the commit point of a write: readers take exactly
 * the shards it lists and never mix two writes, whatever else the folder holds.
 *
 * Shards are named `<name>-00000-of-00004.<write>.tfrecord`: the write id keeps a new write's files
 * apart from the old write's until the new manifest replaces the old one. Files of that pattern that
 * no manifest lists are leftovers of an interrupted write (the next write removes them); files named
 * `<name>-00000-of-00004.tfrecord` come from another tool or an older version of this library.
 * export/tf/_driver_data.py reads the same manifest.
 */
import { Data, Effect, Schema } from "effect";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { decodeAt, NonNegativeInt } from "./schema_decode.ts";

export const MANIFEST_FORMAT = "mirasol-ts tfrecord shards v1";

const PlainName = Schema.String.check(
  Schema.makeFilter((s: string) =>
    (/^[^/\\]+$/.test(s) && s !== "." && s !== "..") ||
    `Expected a file name in the folder, got ${JSON.stringify(s)}`
  ),
);

export const ShardManifest = Schema.Struct({
  format: Schema.Literal(MANIFEST_FORMAT),
  name: Schema.String,
  /** the id of the write, also in each shard's file name */
  write: Schema.String,
  examples: NonNegativeInt,
  video: Schema.Literals(["float", "png"]),
  shards: Schema.Array(Schema.Struct({ file: PlainName, examples: NonNegativeInt, bytes: NonNegativeInt })),
});
export type ShardManifest = typeof ShardManifest.Type;

export class ShardListError extends Data.TaggedError("ShardListError")<{
  readonly dir: string;
  readonly reason: string;
}> {
  override get message() {
    return `Cannot list TFRecord shards in ${this.dir}: ${this.reason}`;
  }
}

export type ShardListing = {
  readonly dir: string;
  readonly name: string;
  readonly manifest: string;
  /** paths of the shards, in order */
  readonly shards: readonly string[];
  readonly examples: number;
  readonly video: "float" | "png";
};

export const manifestName = (name: string) => `${name}.shards.json`;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Classifies a file name of the folder for shard set `name`. */
export function shardKind(name: string, file: string): "ours" | "foreign" | "other" {
  const m = new RegExp(`^${escape(name)}-\\d{5}-of-\\d{5}(\\.[0-9a-z]{8})?\\.tfrecord$`).exec(file);
  return m === null ? "other" : m[1] ? "ours" : "foreign";
}

/** Reads and decodes `<dir>/<name>.shards.json`; undefined when there is none. */
export function readManifest(
  dir: string,
  name: string,
): Effect.Effect<ShardManifest | undefined, ShardListError> {
  const path = join(dir, manifestName(name));
  const fail = (reason: string) => new ShardListError({ dir, reason: `${manifestName(name)}: ${reason}` });
  return Effect.tryPromise({
    try: () => readFile(path, "utf8").catch((e) => (e?.code === "ENOENT" ? undefined : Promise.reject(e))),
    catch: (e) => fail(`cannot read it (${(e as Error).message})`),
  }).pipe(
    Effect.flatMap((text) => {
      if (text === undefined) return Effect.succeed(undefined);
      return Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (e) => fail(`not JSON (${(e as Error).message})`),
      })
        .pipe(Effect.flatMap((json) => decodeAt(ShardManifest, json, fail)));
    }),
  );
}

/**
 * The shards of the last complete write of `name` in `dir` (the only shard set there when `name` is
 * omitted), checked against its manifest: every listed file exists with its recorded size, and no
 * other writer's shard of the same name sits beside them.
 */
export function listShards(
  dir: string,
  options: { readonly name?: string } = {},
): Effect.Effect<ShardListing, ShardListError> {
  return Effect.gen(function* () {
    const files = yield* Effect.tryPromise({
      try: () => readdir(dir),
      catch: (e) => new ShardListError({ dir, reason: `cannot list the folder (${(e as Error).message})` }),
    });
    let name = options.name;
    if (name === undefined) {
      const names = files.filter((f) => f.endsWith(".shards.json")).map((f) =>
        f.slice(0, -".shards.json".length)
      );
      if (names.length !== 1) {
        const loose = files.filter((f) => f.endsWith(".tfrecord")).length;
        return yield* new ShardListError({
          dir,
          reason: names.length === 0
            ? `no *.shards.json manifest${
              loose > 0 ? ` beside its ${loose} .tfrecord files (not written by writeTFRecords)` : ""
            }`
            : `it holds ${names.length} shard sets (${names.sort().join(", ")}); pass the name of one`,
        });
      }
      name = names[0];
    }
    const manifest = yield* readManifest(dir, name);
    const foreign = files.filter((f) => shardKind(name!, f) === "foreign").sort();
    if (manifest === undefined) {
      return yield* new ShardListError({
        dir,
        reason: `no manifest ${manifestName(name)}${
          foreign.length > 0 ? ` for its ${foreign.length} '${name}' shards (written by another tool?)` : ""
        }`,
      });
    }
    if (manifest.name !== name) {
      return yield* new ShardListError({
        dir,
        reason: `${manifestName(name)} describes shard set '${manifest.name}'`,
      });
    }
    if (foreign.length > 0) {
      return yield* new ShardListError({
        dir,
        reason: `${foreign.join(", ")} ${foreign.length > 1 ? "are" : "is"} not listed in ${
          manifestName(name)
        }`,
      });
    }
    const paths: string[] = [];
    let sum = 0;
    for (const shard of manifest.shards) {
      const path = join(dir, shard.file);
      const size = yield* Effect.tryPromise({
        try: () => stat(path).then((s) => s.size),
        catch: () =>
          new ShardListError({ dir, reason: `${manifestName(name!)} lists ${shard.file}, which is missing` }),
      });
      if (size !== shard.bytes) {
        return yield* new ShardListError({
          dir,
          reason: `${
            manifestName(name!)
          } lists ${shard.file} with ${shard.bytes} bytes, the file has ${size}`,
        });
      }
      paths.push(path);
      sum += shard.examples;
    }
    if (sum !== manifest.examples) {
      return yield* new ShardListError({
        dir,
        reason: `${manifestName(name)} counts ${manifest.examples} examples, its shards ${sum}`,
      });
    }
    return {
      dir,
      name,
      manifest: join(dir, manifestName(name)),
      shards: paths,
      examples: sum,
      video: manifest.video,
    };
  });
}
