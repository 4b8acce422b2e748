/**
 * Batching for training: items (annotations) are shuffled with a seed, decoded concurrently into
 * `Example`s, and stacked into fixed-shape `Batch`es.
 *
 *   items -> buffered shuffle (seeded) -> decode (concurrency c, order kept) -> prefetch buffer
 *         -> groups of B -> stack, padding to [B, N, H, W, 3] / [B, F, Mb] / [B, L]
 *
 * Shuffling happens before decoding and decoding keeps input order, so the batches are the same for
 * a seed whatever the concurrency. With `onError: "skip"` failed items are dropped, counted and
 * reported at the end of the stream; with "fail" (the default) the first failure fails the stream
 * with the decoder's own typed error.
 *
 * Letters: B batch, N frames, H/W frame size, F spectrogram columns (N * r), Mb mel bins, L text.
 */
import { Data, Effect, Result, Stream } from "effect";
import type { Batch, Example } from "./types.ts";
import { seededUniform } from "./seeded_random.ts";

export type SkippedItem<E> = { readonly index: number; readonly error: E };

export type BatchReport<E> = {
  /** items decoded into examples */
  readonly decoded: number;
  /** items dropped under `onError: "skip"`, with their position in the input stream */
  readonly skipped: readonly SkippedItem<E>[];
};

export type BatchOptions<E> = {
  readonly batchSize: number;
  /** shuffle seed; without one, items keep their order */
  readonly seed?: number;
  /** items held by the buffered shuffle (default 1024); the whole stream when >= its length */
  readonly shuffleBuffer?: number;
  /** decodes in flight (default 1) */
  readonly concurrency?: number;
  /** decoded examples kept ready ahead of the consumer (default 2 batches) */
  readonly prefetch?: number;
  readonly onError?: "fail" | "skip";
  /** the last, short batch: kept smaller (default), dropped, or padded with empty examples */
  readonly remainder?: "keep" | "drop" | "pad";
  /** fixed N and L; by default the first example's */
  readonly frames?: number;
  readonly textLength?: number;
  /** token id used when padding text past an example's length (the tokenizer's PAD) */
  readonly padId?: number;
  /** called once per input item as it is decoded or skipped (a progress display) */
  readonly onItem?: (event: { readonly ok: boolean; readonly index: number }) => void;
  /** called when the stream ends; by default a warning is logged when items were skipped */
  readonly onReport?: (report: BatchReport<E>) => Effect.Effect<void>;
};

export class BatchShapeError extends Data.TaggedError("BatchShapeError")<{
  readonly id: string;
  readonly field: string;
  readonly expected: string;
  readonly got: string;
}> {
  override get message() {
    return `Cannot stack example ${
      JSON.stringify(this.id)
    } into a batch: ${this.field} must be ${this.expected}, got ${this.got}`;
  }
}

export { seededUniform } from "./seeded_random.ts";

/**
 * A buffered shuffle: fill a buffer of `size`, then emit a random element for each arrival and
 * replace it; at the end, emit what is left in random order. Deterministic for a seed.
 */
export function shuffled<A, E, R>(
  items: Stream.Stream<A, E, R>,
  seed: number,
  size: number,
): Stream.Stream<A, E, R> {
  type State = { readonly buffer: A[]; readonly next: () => number };
  return items.pipe(Stream.mapAccum(
    (): State => ({ buffer: [], next: seededUniform(seed) }),
    (s: State, a: A): readonly [State, readonly A[]] => {
      if (s.buffer.length < size) {
        s.buffer.push(a);
        return [s, []];
      }
      const j = Math.floor(s.next() * size);
      const out = s.buffer[j];
      s.buffer[j] = a;
      return [s, [out]];
    },
    {
      onHalt: (s: State) => {
        const rest = s.buffer;
        for (let i = rest.length - 1; i > 0; i--) {
          const j = Math.floor(s.next() * (i + 1));
          [rest[i], rest[j]] = [rest[j], rest[i]];
        }
        return rest;
      },
    },
  ));
}

type Shapes = { N: number; H: number; W: number; r: number; Mb: number; L: number };

function shapesOf(first: Example, o: BatchOptions<unknown>): Shapes {
  const [n, H, W] = first.videoShape;
  const [F, Mb] = first.audioShape;
  return { N: o.frames ?? n, H, W, r: n > 0 ? F / n : 0, Mb, L: o.textLength ?? first.text.length };
}

/** Stacks examples into one batch of `rows` rows (rows beyond the examples are empty padding). */
export function stack(
  examples: readonly Example[],
  s: Shapes,
  rows: number,
  padId: number,
): Effect.Effect<Batch, BatchShapeError> {
  return Effect.gen(function* () {
    const frameSize = s.H * s.W * 3, F = s.N * s.r;
    const video = new Float32Array(rows * s.N * frameSize); // [B, N, H, W, 3]
    const audio = new Float32Array(rows * F * s.Mb); // [B, F, Mb]
    const mediaMask = new Uint8Array(rows * s.N); // [B, N]
    const text = new Int32Array(rows * s.L).fill(padId); // [B, L]
    const textMask = new Uint8Array(rows * s.L);
    const lossMask = new Uint8Array(rows * s.L);
    for (let b = 0; b < examples.length; b++) {
      const e = examples[b];
      const [n, H, W] = e.videoShape;
      const [f, Mb] = e.audioShape;
      const bad = (field: string, expected: string, got: string) =>
        new BatchShapeError({ id: e.id, field, expected, got });
      if (H !== s.H || W !== s.W) return yield* bad("frame size", `${s.H}x${s.W}`, `${H}x${W}`);
      if (Mb !== s.Mb) return yield* bad("mel bins", String(s.Mb), String(Mb));
      if (f !== n * s.r) return yield* bad("spectrogram columns", `${n} frames x ${s.r}`, String(f));
      const frames = Math.min(n, s.N), columns = frames * s.r, L = Math.min(e.text.length, s.L);
      video.set(e.video.subarray(0, frames * frameSize), b * s.N * frameSize);
      audio.set(e.audio.subarray(0, columns * s.Mb), b * F * s.Mb);
      mediaMask.set(e.mediaMask.subarray(0, frames), b * s.N);
      text.set(e.text.subarray(0, L), b * s.L);
      textMask.set(e.textMask.subarray(0, L), b * s.L);
      lossMask.set(e.lossMask.subarray(0, L), b * s.L);
    }
    return {
      ids: [...examples.map((e) => e.id), ...Array<string>(rows - examples.length).fill("")],
      video,
      videoShape: [rows, s.N, s.H, s.W, 3],
      audio,
      audioShape: [rows, F, s.Mb],
      mediaMask,
      text,
      textMask,
      lossMask,
      textShape: [rows, s.L],
    };
  });
}

type Decoded<E> = { readonly ok: true; readonly example: Example } | {
  readonly ok: false;
  readonly skipped: SkippedItem<E>;
};

/** Batches of decoded items; see the module comment for the pipeline and its guarantees. */
export function batches<A, E, R, E2, R2>(
  items: Stream.Stream<A, E2, R2>,
  decode: (item: A) => Effect.Effect<Example, E, R>,
  options: BatchOptions<E>,
): Stream.Stream<Batch, E | E2 | BatchShapeError, R | R2> {
  const B = options.batchSize;
  if (!Number.isInteger(B) || B < 1) {
    throw new RangeError(`Cannot batch: batchSize must be a positive integer, got ${B}`);
  }
  const concurrency = options.concurrency ?? 1;
  const skip = options.onError === "skip";
  return Stream.suspend(() => {
    // per-run counters: each run of the stream reports its own skips
    let decoded = 0;
    const skipped: SkippedItem<E>[] = [];
    let shapes: Shapes | undefined;
    const indexed = Stream.zipWithIndex(items);
    const ordered = options.seed === undefined
      ? indexed
      : shuffled(indexed, options.seed, options.shuffleBuffer ?? 1024);
    const decodeOne = ([item, index]: [A, number]): Effect.Effect<Decoded<E>, E, R> => {
      const attempt = decode(item).pipe(Effect.map((example): Decoded<E> => ({ ok: true, example })));
      const handled = skip
        ? attempt.pipe(
          Effect.catch((error: E) => Effect.succeed<Decoded<E>>({ ok: false, skipped: { index, error } })),
        )
        : attempt;
      return handled.pipe(Effect.tap((d) => Effect.sync(() => options.onItem?.({ ok: d.ok, index }))));
    };
    const report = Effect.suspend(() => {
      const r: BatchReport<E> = { decoded, skipped };
      if (options.onReport) return options.onReport(r);
      if (skipped.length === 0) return Effect.void;
      const first = skipped.slice(0, 3).map((s) => `#${s.index}: ${errorText(s.error)}`).join("; ");
      return Effect.logWarning(
        `batches: skipped ${skipped.length} of ${decoded + skipped.length} items (${first}${
          skipped.length > 3 ? "; ..." : ""
        })`,
      );
    });
    return ordered.pipe(
      Stream.mapEffect(decodeOne, { concurrency }),
      Stream.filterMap((d) => {
        if (d.ok) {
          decoded++;
          return Result.succeed(d.example);
        }
        skipped.push(d.skipped);
        return Result.failVoid;
      }),
      Stream.buffer({ capacity: options.prefetch ?? 2 * B }),
      Stream.grouped(B),
      Stream.filter((group) => group.length === B || options.remainder !== "drop"),
      Stream.mapEffect((group) => {
        shapes ??= shapesOf(group[0], options as BatchOptions<unknown>);
        const rows = options.remainder === "pad" ? B : group.length;
        return stack(group, shapes, rows, options.padId ?? 0);
      }),
      Stream.onEnd(report),
    );
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
