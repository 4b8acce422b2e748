/**
 * Atomic file and folder writes shared by every writer of the library (shards, synthetic clips,
 * checkpoints, exports): the bytes go to a temporary name in the target's own folder, are synced,
 * and are renamed over the target, so a reader sees the old complete file or the new complete one,
 * never a prefix. A crash or SIGKILL can leave only temporary names, which `cleanStaleTemps`
 * removes on the next run.
 *
 * Temporary names are `<target>.tmp-<pid>-<8 hex>`; a folder being replaced is parked as
 * `<target>.old-<pid>-<8 hex>` for the instant between its two renames. The pid says whether the
 * writer may still be running: a temp of a live process is never touched.
 */
import { Data } from "effect";

export class AtomicWriteError extends Data.TaggedError("AtomicWriteError")<{
  readonly path: string;
  readonly reason: string;
  /** the target exists and `overwrite: false` was asked */
  readonly exists: boolean;
}> {
  override get message() {
    return `Cannot write ${this.path}: ${this.reason}`;
  }
}

export type AtomicOptions = {
  /** replace an existing target (default true); false fails with `exists: true` instead */
  readonly overwrite?: boolean;
  /** fsync the data and the folder, so the new name survives a power cut too (default true) */
  readonly durable?: boolean;
};

const TEMP = /^(.+)\.(tmp|old)-(\d+)-([0-9a-f]{8})$/;

const hex8 = () => crypto.randomUUID().replaceAll("-", "").slice(0, 8);
const slashless = (path: string) => path.length > 1 ? path.replace(/\/+$/, "") : path;
const dirOf = (path: string) => {
  const i = slashless(path).lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
};

/** A fresh temporary name for `target`, in the same folder (so the final rename never crosses disks). */
export function tempPath(target: string): string {
  return `${slashless(target)}.tmp-${Deno.pid}-${hex8()}`;
}

/** What a name in a folder is, if it follows the temporary-name pattern: its target and writer pid. */
export function parseTempName(
  name: string,
): { readonly target: string; readonly kind: "tmp" | "old"; readonly pid: number } | undefined {
  const m = TEMP.exec(name);
  return m ? { target: m[1], kind: m[2] as "tmp" | "old", pid: Number(m[3]) } : undefined;
}

/** Whether process `pid` may still be writing (ours, or alive per /proc; unknown counts as alive). */
function mayBeAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync("/proc/self");
  } catch {
    return true; // no /proc (macOS, Windows): never guess that a writer is dead
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

const reasonOf = (e: unknown) => e instanceof Error ? e.message : String(e);
const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);
/** An empty folder holds nothing to lose: rename() replaces it atomically, and fails once it is not. */
const isEmptyDir = async (path: string) => {
  try {
    for await (const _ of Deno.readDir(path)) return false;
    return true;
  } catch {
    return false;
  }
};

/** fsync a folder so renames inside it are durable; a no-op where folders cannot be opened. */
export async function syncDir(dir: string): Promise<void> {
  let d: Deno.FsFile | undefined;
  try {
    d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Windows cannot open folders; the rename is still atomic, only its durability is the OS's
  } finally {
    d?.close();
  }
}

/** Renames `from` to `to` unless `to` exists: link() refuses an existing name atomically. */
async function renameNoClobber(from: string, to: string): Promise<void> {
  try {
    await Deno.link(from, to);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) throw e;
    // no hard links here (some network and FAT file systems): check, then rename
    if (await exists(to)) throw new Deno.errors.AlreadyExists(`${to} exists`);
    await Deno.rename(from, to);
    return;
  }
  await Deno.remove(from);
}

/** A file being written under a temporary name: write to `file`, then `commit` or `abort`. */
export type PendingFile = {
  readonly temp: string;
  readonly file: Deno.FsFile;
  /** syncs, closes and renames to `target` (or the name given at open); fails with AtomicWriteError */
  readonly commit: (target?: string) => Promise<void>;
  /** closes and removes the temporary file; never fails */
  readonly abort: () => Promise<void>;
};

/** Opens a temporary file for `target`, for writers that stream their bytes. */
export async function openAtomic(target: string, options: AtomicOptions = {}): Promise<PendingFile> {
  const temp = tempPath(target);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true });
  } catch (e) {
    throw new AtomicWriteError({ path: target, reason: reasonOf(e), exists: false });
  }
  let open = true;
  const close = () => {
    if (open) file.close();
    open = false;
  };
  const abort = async () => {
    try {
      close();
    } catch { /* already closed by the OS */ }
    await Deno.remove(temp).catch(() => undefined);
  };
  const commit = async (final = target) => {
    try {
      if (options.durable ?? true) await file.syncData();
      close();
      if (options.overwrite ?? true) await Deno.rename(temp, final);
      else await renameNoClobber(temp, final);
      if (options.durable ?? true) await syncDir(dirOf(final));
    } catch (e) {
      await abort();
      const clash = e instanceof Deno.errors.AlreadyExists;
      throw new AtomicWriteError({
        path: final,
        reason: clash ? "it already exists (overwrite is false)" : reasonOf(e),
        exists: clash,
      });
    }
  };
  return { temp, file, commit, abort };
}

/**
 * Commits a temporary file another program wrote (ffmpeg's output at `tempPath(target)`): syncs it
 * and renames it to `target`. On failure the temp is removed and an AtomicWriteError thrown.
 */
export async function commitFile(temp: string, target: string, options: AtomicOptions = {}): Promise<void> {
  try {
    if (options.durable ?? true) {
      const f = await Deno.open(temp, { read: true, write: true });
      try {
        await f.syncData();
      } finally {
        f.close();
      }
    }
    if (options.overwrite ?? true) await Deno.rename(temp, target);
    else await renameNoClobber(temp, target);
    if (options.durable ?? true) await syncDir(dirOf(target));
  } catch (e) {
    await Deno.remove(temp).catch(() => undefined);
    const clash = e instanceof Deno.errors.AlreadyExists;
    throw new AtomicWriteError({
      path: target,
      reason: clash ? "it already exists (overwrite is false)" : reasonOf(e),
      exists: clash,
    });
  }
}

/** Writes `data` to `target` atomically (temp file in the same folder, sync, rename). */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  options: AtomicOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  if (options.overwrite === false && await exists(target)) {
    throw new AtomicWriteError({
      path: target,
      reason: "it already exists (overwrite is false)",
      exists: true,
    });
  }
  const pending = await openAtomic(target, options);
  try {
    for (let done = 0; done < bytes.length;) done += await pending.file.write(bytes.subarray(done));
  } catch (e) {
    await pending.abort();
    throw new AtomicWriteError({ path: target, reason: reasonOf(e), exists: false });
  }
  await pending.commit();
}

/**
 * Fills a temporary folder with `fill` and renames it to `target`. An existing target (with
 * `overwrite`) is first parked under an `.old-` name and removed after the swap; if the process
 * dies between the two renames, `cleanStaleTemps` puts the parked folder back. An existing empty
 * folder is no clash: the rename replaces it, and refuses if a file appeared there meanwhile.
 */
export async function writeDirAtomic<A>(
  target: string,
  fill: (temp: string) => Promise<A>,
  options: AtomicOptions = {},
): Promise<A> {
  const final = slashless(target);
  const had = await exists(final) && !(await isEmptyDir(final));
  if (had && options.overwrite === false) {
    throw new AtomicWriteError({
      path: final,
      reason: "it already exists (overwrite is false)",
      exists: true,
    });
  }
  const temp = tempPath(final);
  const fail = (e: unknown) =>
    e instanceof AtomicWriteError
      ? e
      : new AtomicWriteError({ path: final, reason: reasonOf(e), exists: false });
  let result: A;
  try {
    await Deno.mkdir(temp);
    result = await fill(temp);
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => undefined);
    throw fail(e);
  }
  const parked = `${final}.old-${Deno.pid}-${hex8()}`;
  try {
    if (had) await Deno.rename(final, parked);
    await Deno.rename(temp, final);
  } catch (e) {
    if (had && !(await exists(final)) && await exists(parked)) {
      await Deno.rename(parked, final).catch(() => {});
    }
    await Deno.remove(temp, { recursive: true }).catch(() => undefined);
    // someone filled the target between the check and the rename (ENOTEMPTY, EEXIST, ENOTDIR)
    if (!had && options.overwrite === false && await exists(final) && !(await isEmptyDir(final))) {
      throw new AtomicWriteError({
        path: final,
        reason: "it already exists (overwrite is false)",
        exists: true,
      });
    }
    throw fail(e);
  }
  if (options.durable ?? true) await syncDir(dirOf(final));
  if (had) await Deno.remove(parked, { recursive: true }).catch(() => undefined);
  return result;
}

/**
 * Removes the temporary files and folders in `dir` whose writer has died (SIGKILL, power cut), and
 * puts back a folder parked by an interrupted `writeDirAtomic` when its target is missing.
 * `owns(target)` limits the cleaning to one writer's names. Returns the paths it removed.
 */
export async function cleanStaleTemps(
  dir: string,
  owns: (targetName: string) => boolean = () => true,
): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return removed;
    throw new AtomicWriteError({
      path: dir,
      reason: `cannot list the folder (${reasonOf(e)})`,
      exists: false,
    });
  }
  for (const entry of entries) {
    const temp = parseTempName(entry.name);
    if (!temp || !owns(temp.target) || mayBeAlive(temp.pid)) continue;
    const path = `${slashless(dir)}/${entry.name}`, target = `${slashless(dir)}/${temp.target}`;
    if (temp.kind === "old" && !(await exists(target))) {
      await Deno.rename(path, target).catch(() => undefined);
      continue;
    }
    await Deno.remove(path, { recursive: true }).catch(() => undefined);
    removed.push(path);
  }
  return removed;
}
