/**
 * `--normalise <how>`: none (images on the source's scale), auto (per-channel mean/std of the retain set, as the
 * train/unlearn jobs compute it) or <mean>,<std> (every channel) or C means then C stds.
 */
import { computeNormalisation, type Examples, type Normalisation } from "../data/index.js";
import { UserError } from "../errors.js";
import { parseNumberList } from "./parse.js";

export const NORMALISE_HELP =
  "input normalisation the model expects: none (images in [0,1]), auto (retain-set mean/std) or <mean>,<std>[,...] per channel";

/** The normalisation `text` asks for; `retain` is read only for auto. */
export async function parseNormaliseOption(
  text: string,
  channels: number,
  retain: Examples,
): Promise<Normalisation | undefined> {
  if (text === "none") return undefined;
  if (text === "auto") return computeNormalisation(retain);
  const v = parseNumberList("--normalise", text)!;
  if (v.length !== 2 && v.length !== 2 * channels)
    throw new UserError(
      `--normalise expects none, auto, <mean>,<std> or ${channels} means then ${channels} stds, got '${text}'`,
    );
  const mean = v.length === 2 ? Array<number>(channels).fill(v[0]!) : v.slice(0, channels);
  const std = v.length === 2 ? Array<number>(channels).fill(v[1]!) : v.slice(channels);
  return { mean, std };
}
