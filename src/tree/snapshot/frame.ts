/**
 * The snapshot walk's cursor over one open node: its children as of Z, by name, each once.
 */
import type { ZNode } from '../znode.js';
import type { Chunks, SortJob } from './sort.js';

/** An open node: its children as of Z, walked by name. */
export class Frame {
  /** Position in `names` (chunk, index) and in `gone`; the last name looked at (siblings are never ''). */
  ci = 0;
  ni = 0;
  gi = 0;
  last = '';
  count = 0;
  constructor(
    readonly node: ZNode,
    /** Its child count at Z, to check the walk against. */
    readonly expected: number,
    /** Sorted live names at open (held cache, private copy) or, once sorted, a large directory's. */
    public names: Chunks,
    /** The node's own sorted cache when `names` is it: the tree must then not change it in place. */
    readonly held: string[] | null,
    /** Names of children at Z deleted before the frame opened (or its sort ended), sorted. */
    public gone: string[],
    public sort: SortJob | null,
  ) {}

  /** The next child name in order, each once: the live names at open merged with the graveyard's. */
  nextName(): string | undefined {
    const a = this.names;
    const g = this.gone;
    for (;;) {
      while (this.ci < a.length && this.ni >= a[this.ci]!.length) {
        this.ci++;
        this.ni = 0;
      }
      let m: string;
      if (this.ci < a.length) {
        const x = a[this.ci]![this.ni]!;
        if (this.gi < g.length && g[this.gi]! < x) m = g[this.gi++]!;
        else {
          m = x;
          this.ni++;
        }
      } else if (this.gi < g.length) m = g[this.gi++]!;
      else return undefined;
      if (m !== this.last) {
        this.last = m;
        return m;
      }
    }
  }
}
