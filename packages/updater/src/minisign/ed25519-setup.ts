import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

/** @noble/ed25519 v3 ships without a hash: give it @noble/hashes' SHA-512 once, on import. */
ed.hashes.sha512 = sha512;
