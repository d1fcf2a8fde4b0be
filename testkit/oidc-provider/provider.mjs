// An OpenID Provider for the OIDC sign-in tests: panva/node-oidc-provider (OpenID Certified), pinned in
// package.json, on a loopback port. Started by testkit::oidc with one JSON argument:
//
//   {"issuer": "http://127.0.0.1:<port>" (optional: default the address it listens on),
//    "clients": [{"client_id", "client_secret", "redirect_uris"}], "account": "alice",
//    "devices": ["<smart-me device id>", ...] (optional: the account's `smartme_devices` claim, scope `smartme`,
//    put in the ID token as a provider configured to do so does)}
//
// It prints `listening http://127.0.0.1:<port>` once it serves. Interactions sign the configured account in and
// grant what was asked, through a one-field form (GET /interaction/:uid shows it, POST .../login submits it), so a
// test can drive the provider over plain HTTP or in a browser. POST /__switchyard/rotate replaces the provider with
// one whose JWKS has a new signing key first (the old one still published): the provider's key rotation.

import http from 'node:http';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const config = JSON.parse(process.argv[2] ?? '{}');
const account = config.account ?? 'alice';

async function newKey(kid) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function build(issuer, keys) {
  const provider = new Provider(issuer, {
    clients: (config.clients ?? []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    })),
    jwks: { keys },
    cookies: { keys: ['switchyard-test-provider-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    claims: { openid: ['sub'], email: ['email'], smartme: ['smartme_devices'] },
    scopes: ['openid', 'offline_access', 'email', 'smartme'],
    conformIdTokenClaims: !config.devices,
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.com`, smartme_devices: config.devices ?? [] }),
    }),
  });
  provider.proxy = true;
  provider.use(async (ctx, next) => {
    const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (!match) return next();
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><title>Test identity provider</title></head><body>
<form method="post" action="/interaction/${escape(match[1])}/login"><label>Login <input id="login" name="login" value="${escape(account)}"></label>
<button id="continue" type="submit">Continue</button></form></body></html>`;
      return;
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const grant = new provider.Grant({ accountId: account, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const result = { login: { accountId: account }, consent: { grantId } };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  });
  return provider;
}

let keys = [await newKey('key-1')];
let handler = null;
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__switchyard/rotate') {
    newKey(`key-${keys.length + 1}`).then((key) => {
      keys = [key, ...keys];
      handler = build(issuer, keys).callback();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kids: keys.map((k) => k.kid) }));
    });
    return;
  }
  handler(req, res);
});
let issuer = config.issuer;
server.listen(0, '127.0.0.1', () => {
  const address = `http://127.0.0.1:${server.address().port}`;
  issuer = issuer ?? address;
  handler = build(issuer, keys).callback();
  console.log(`listening ${address}`);
});
