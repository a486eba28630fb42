/** The Sample's `display` image is always 8-bit RGB; readers of gray inputs replicate the channel. */
export function grayToRgb(gray: Uint8Array): Uint8Array {
  const rgb = new Uint8Array(gray.length * 3);
  for (let i = 0; i < gray.length; i++) {
    const v = gray[i]!;
    rgb[3 * i] = v;
    rgb[3 * i + 1] = v;
    rgb[3 * i + 2] = v;
  }
  return rgb;
}

/** 8-bit RGB from decoded pixels with 1 or 3 channels. */
export function toDisplayRgb(pixels: Uint8Array, channels: 1 | 3): Uint8Array {
  return channels === 3 ? pixels : grayToRgb(pixels);
}
