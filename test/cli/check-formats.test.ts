import { describe, expect, it } from "vitest";
import { xmlRoot } from "./check-formats.js";

describe("the test's XML checker can fail", () => {
  it("accepts a small SVG and names its root", () => {
    expect(
      xmlRoot('<?xml version="1.0"?>\n<svg a="1"><g><text x="2">a &amp; b</text><line/></g></svg>'),
    ).toBe("svg");
  });
  it.each([
    ["<svg><g></svg>", /closes/],
    ["<svg><g>", /unclosed/],
    ["<svg></svg><svg></svg>", /2 root elements/],
    ["<svg a=1></svg>", /malformed/],
  ])("rejects %s", (text, error) => {
    expect(() => xmlRoot(text)).toThrow(error);
  });
});
