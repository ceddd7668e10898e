/**
 * `--normalise <how>`: none (images on the source's scale), auto (per-channel mean/std of the retain set, as the
 * train/unlearn jobs compute it) or <mean>,<std> (every channel) or C means then C stds.
 */
import { resolveNormalisation, type Examples, type Normalisation } from "../data/index.js";
import { parseNormaliseRequest } from "./parse.js";

export const NORMALISE_HELP =
  "input normalisation the model expects: none (images in [0,1]), auto (retain-set mean/std) or <mean>,<std>[,...] per channel";

/** The normalisation `text` asks for; `retain` is read only for auto. */
export async function parseNormaliseOption(
  text: string,
  channels: number,
  retain: Examples,
): Promise<Normalisation | undefined> {
  return resolveNormalisation(parseNormaliseRequest(text), retain, channels);
}
