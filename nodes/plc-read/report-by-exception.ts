// Report-by-exception: passes a sample on only when it differs from the last one reported for its tag
// by more than the tag's deadband, or its quality changed. Bad samples are always reported when the
// quality turns bad, so a failing read is never swallowed.
import type { TagSample } from '../../contracts/messages.schema';

export class ExceptionFilter {
  private readonly last = new Map<string, TagSample>();

  constructor(private readonly deadbandOf: (tag: string) => number) {}

  filter(samples: TagSample[]): TagSample[] {
    return samples.filter((s) => {
      const prev = this.last.get(s.tag);
      if (!this.changed(prev, s)) return false;
      this.last.set(s.tag, s);
      return true;
    });
  }

  private changed(prev: TagSample | undefined, s: TagSample): boolean {
    if (!prev || prev.quality !== s.quality) return true;
    if (s.quality === 'bad') return prev.reason !== s.reason;
    if (typeof s.value === 'number' && typeof prev.value === 'number') {
      const db = this.deadbandOf(s.tag);
      return db > 0 ? Math.abs(s.value - prev.value) >= db : s.value !== prev.value;
    }
    return s.value !== prev.value;
  }

  reset(): void {
    this.last.clear();
  }
}
