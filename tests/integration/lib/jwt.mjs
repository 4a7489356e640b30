// JWTs minted at run time with node:crypto (no stored token that rots):
// HS256 with a shared secret, RS256 and ES256 with key pairs generated here.
// keyPair('rsa'|'ec') → { privateKey, publicPem, file } (the PEM written to a
// temp file for --jwt-public-key); mint(alg, key, claims, {kid, header}).
import crypto from 'node:crypto';
import path from 'node:path';
import { tmpFile } from './herald.mjs';

const b64 = (buf) => Buffer.from(buf).toString('base64url');

export const nowS = () => Math.floor(Date.now() / 1000);

export function keyPair(kind, name = `${kind}-${crypto.randomBytes(4).toString('hex')}`) {
  const { privateKey, publicKey } = kind === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
  // kid = the file's base name (herald's default for --jwt-public-key).
  const file = tmpFile(`${name}.pem`, publicPem);
  return { privateKey, publicPem, file, kid: path.basename(file).split('.')[0] };
}

// alg: 'HS256' (key = secret string), 'RS256' / 'ES256' (key = KeyObject), or 'none'.
export function mint(alg, key, claims, { kid, header = {} } = {}) {
  const h = { alg, typ: 'JWT', ...(kid ? { kid } : {}), ...header };
  const input = `${b64(JSON.stringify(h))}.${b64(JSON.stringify(claims))}`;
  let sig;
  if (alg === 'none') sig = Buffer.alloc(0);
  else if (alg === 'HS256') sig = crypto.createHmac('sha256', key).update(input).digest();
  else if (alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), key);
  else if (alg === 'ES256') sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else throw new Error(`mint: unsupported alg ${alg}`);
  return `${input}.${b64(sig)}`;
}

// Claims valid for `ttlS` seconds from now.
export function claims(extra = {}, ttlS = 600) {
  const now = nowS();
  return { sub: 'user-1', iat: now, exp: now + ttlS, ...extra };
}
