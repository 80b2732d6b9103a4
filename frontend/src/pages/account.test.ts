import { describe, expect, it } from "vitest";
import { browserOf } from "./account";

describe("browserOf", () => {
  it("names common browsers and systems", () => {
    expect(browserOf("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36")).toBe("Chrome on Linux");
    expect(browserOf("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0")).toBe("Firefox on Windows");
    expect(browserOf("curl/8.5.0")).toBe("curl/8.5.0");
    expect(browserOf("")).toBe("Unknown browser");
  });
});
