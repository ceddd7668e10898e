/**
 * How large an image the folder source accepts: its header is read first (sharp reads only the header for
 * metadata, and refuses to decode past `limitInputPixels`), so a small file claiming a huge image costs nothing.
 * 2^25 pixels is a 5792 x 5792 image (about 100 MB decoded as RGB), far above what a classifier takes; no side may
 * exceed 2^15.
 */
import { UserError } from "../../errors.js";
import type { ImageShape } from "../types.js";

export const MAX_IMAGE_PIXELS = 2 ** 25;
/** Longest side accepted (libvips refuses to shrink by more than 10^6 when resizing a very long, thin image). */
export const MAX_IMAGE_SIDE = 2 ** 15;

/** Refuses an image shape (given, or read from a header) above the limit, or with other than 1 or 3 channels. */
export function checkImageShape(shape: ImageShape, subject: string): void {
  const { channels, height, width } = shape;
  const dims = [channels, height, width];
  if (!dims.every((d) => Number.isSafeInteger(d) && d > 0))
    throw new UserError(`image shape ${dims.join("x")} is not three positive integers`, subject);
  if (channels !== 1 && channels !== 3)
    throw new UserError(`images have 1 (grey) or 3 (RGB) channels, got ${channels}`, subject);
  if (height > MAX_IMAGE_SIDE || width > MAX_IMAGE_SIDE)
    throw new UserError(`image of ${width} x ${height} pixels has a side longer than ${MAX_IMAGE_SIDE}`, subject);
  if (height * width > MAX_IMAGE_PIXELS)
    throw new UserError(
      `image of ${width} x ${height} pixels is larger than the limit of ${MAX_IMAGE_PIXELS} pixels (${Math.floor(Math.sqrt(MAX_IMAGE_PIXELS))} x ${Math.floor(Math.sqrt(MAX_IMAGE_PIXELS))})`,
      subject,
    );
}
