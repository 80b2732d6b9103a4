import { describe, expect, it } from "vitest";
import { Batcher } from "./batcher";

describe("Batcher", () => {
  it("hands a burst over as one batch per scheduled frame", () => {
    const frames: (() => void)[] = [];
    const got: number[][] = [];
    const b = new Batcher<number>((items) => got.push(items), (cb) => frames.push(cb));
    for (let i = 0; i < 1000; i++) b.push(i);
    expect(frames).toHaveLength(1); // one frame requested, not 1,000
    expect(got).toHaveLength(0);
    frames.shift()!();
    expect(got).toHaveLength(1);
    expect(got[0]).toHaveLength(1000);
    expect(got[0][999]).toBe(999);

    b.push(1);
    b.push(2);
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(got[1]).toEqual([1, 2]);
    expect(b.flushes).toBe(2);
    expect(b.pending).toBe(0);
  });

  it("uses animation frames by default", async () => {
    const got: number[][] = [];
    const b = new Batcher<number>((items) => got.push(items));
    b.push(1);
    b.push(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([[1, 2]]);
  });
});
