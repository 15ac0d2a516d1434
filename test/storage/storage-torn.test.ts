/**
 * Torn writes: a segment truncated at every byte offset (a crash mid-write) opens to exactly
 * the records wholly before the cut, reported and with the damaged file copied aside.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileStorage } from '../../src/storage/index.js';
import { tmpDir, cleanupTmpDirs, makeEntries, plain, noSyncFs, restoreDir, wal, recordStarts, restore, build } from './storage-helpers.js';

afterAll(cleanupTmpDirs);

describe('torn writes: truncation at every byte offset', () => {
  test('a 50-record segment cut anywhere opens to exactly the records wholly before the cut', async () => {
    const pristine = tmpDir('pristine');
    const all = makeEntries(1, 50, 1).map((e) => ({ ...e, data: e.data.subarray(0, e.index % 9) }));
    await build(pristine, all);
    const [name] = wal(pristine);
    const full = readFileSync(join(pristine, name!));
    const starts = recordStarts(full);
    expect(starts.length).toBe(51);
    const dir = tmpDir('cut');
    for (let cut = 0; cut <= full.length; cut++) {
      restoreDir(new Map([[name!, full.subarray(0, cut)]]), dir);
      const { storage, recovered } = await FileStorage.open(dir, { fs: noSyncFs });
      // records wholly inside [0, cut): starts[k+1] <= cut (the last ends at full.length)
      const ends = [...starts.slice(1), full.length];
      const whole = ends.filter((e) => e <= cut).length; // header + entries
      const n = Math.max(0, whole - 1);
      expect(plain(recovered.entries)).toEqual(plain(all.slice(0, n)));
      if (cut === 0 || (!starts.includes(cut) && cut !== full.length)) {
        expect({ cut, repaired: recovered.repaired }).toMatchObject({ cut, repaired: expect.stringMatching(/torn tail/) });
        expect(recovered.repaired).toContain(join(dir, name!));
        expect(readdirSync(dir).some((f) => f.startsWith(name! + '.broken-'))).toBe(true);
      } else {
        expect(recovered.repaired).toBeUndefined();
      }
      if (cut % 97 === 0) {
        // the repaired log takes appends and reads back
        await storage.append(makeEntries(n + 1, 2, 2));
        await storage.close();
        const again = await FileStorage.open(dir, { fs: noSyncFs });
        expect(plain(again.recovered.entries)).toEqual(plain([...all.slice(0, n), ...makeEntries(n + 1, 2, 2)]));
        expect(again.recovered.repaired).toBeUndefined();
        await again.storage.close();
      } else {
        await storage.close();
      }
    }
  }, 180_000);

  test('the last of several segments cut anywhere; a zeroed tail is torn too', async () => {
    const pristine = tmpDir('pristine');
    const all = makeEntries(1, 120, 1);
    await build(pristine, all, { segmentBytes: 2048 });
    const names = wal(pristine);
    expect(names.length).toBeGreaterThanOrEqual(3);
    const lastName = names[names.length - 1]!;
    const last = readFileSync(join(pristine, lastName));
    const starts = recordStarts(last);
    const before = all.length - (starts.length - 1);
    const dir = tmpDir('cut');
    const ends = [...starts.slice(1), last.length];
    const cases: { cut: number; zeros: number }[] = [];
    for (let cut = 0; cut <= last.length; cut += 9) cases.push({ cut, zeros: 0 });
    // zeroed tails: blocks allocated, never written — after a whole record, and inside one
    for (const s of starts) cases.push({ cut: s, zeros: 300 }, { cut: s + 12, zeros: 300 });
    for (const { cut, zeros } of cases) {
      restore(pristine, dir);
      writeFileSync(join(dir, lastName), Buffer.concat([last.subarray(0, cut), Buffer.alloc(zeros)]));
      const { storage, recovered } = await FileStorage.open(dir, { segmentBytes: 2048, fs: noSyncFs });
      const n = before + Math.max(0, ends.filter((e) => e <= cut).length - 1);
      expect({ cut, zeros, entries: plain(recovered.entries) }).toEqual({ cut, zeros, entries: plain(all.slice(0, n)) });
      if (zeros > 0) expect(recovered.repaired).toMatch(starts.includes(cut) ? /torn tail.*zeroed tail \(300 zero bytes\)/ : /torn tail/);
      else if (!starts.includes(cut) && cut !== last.length) expect(recovered.repaired).toMatch(/torn tail/);
      await storage.close();
    }
  }, 180_000);
});
