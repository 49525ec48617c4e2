/**
 * The shipped virtual contactless cards: JSON profiles in emv/card/contactless-profiles/, apart
 * from the contact cards' profiles/ (which the contact slot lists). Each load is a fresh copy.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PosError } from '../../config/errors.js';
import { packageRoot } from '../../config/paths.js';
import type { ContactlessCardProfile } from './contactless-profile.js';

// Data in the source tree, read from dist/ too (like profiles/).
const contactlessProfilesDir = join(packageRoot, 'emv', 'card', 'contactless-profiles');

export function contactlessProfilesDirectory(): string {
  return contactlessProfilesDir;
}

/** Profile names, sorted; none when the directory does not exist yet. */
export function listContactlessProfiles(directory = contactlessProfilesDir): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((file) => file.endsWith('.json'))
    .map((file) => basename(file, '.json'))
    .sort();
}

export function loadContactlessProfile(name: string, directory = contactlessProfilesDir): ContactlessCardProfile {
  const shipped = listContactlessProfiles(directory);
  // The name pattern keeps a name from reaching outside the directory ("../x").
  if (!/^[a-z0-9-]+$/.test(name) || !shipped.includes(name)) {
    throw new PosError(
      'CODPOS_EMV_UNKNOWN_CARD',
      `no virtual contactless card profile named "${name}"; shipped: ${shipped.join(', ') || 'none'}`,
      { details: { name } },
    );
  }
  return JSON.parse(readFileSync(join(directory, name + '.json'), 'utf8')) as ContactlessCardProfile;
}
