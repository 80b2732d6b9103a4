// WebAuthn in the browser: the server sends the options of
// navigator.credentials.create/get as JSON (binary fields in base64url),
// and takes the credential back as JSON (PublicKeyCredential.toJSON).
// Browsers without the JSON helpers get the same conversion done here.

/** b64urlToBytes decodes base64url (with or without padding). */
export function b64urlToBytes(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** bytesToB64url encodes bytes as unpadded base64url. */
export function bytesToB64url(b: ArrayBuffer | Uint8Array): string {
  const u = b instanceof Uint8Array ? b : new Uint8Array(b);
  let bin = "";
  for (const c of u) bin += String.fromCharCode(c);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

type Json = Record<string, any>;

/** creationOptions turns the server's JSON into create() options. */
export function creationOptions(json: string): PublicKeyCredentialCreationOptions {
  const o: Json = JSON.parse(json).publicKey;
  return {
    ...o,
    challenge: b64urlToBytes(o.challenge),
    user: { ...o.user, id: b64urlToBytes(o.user.id) },
    excludeCredentials: (o.excludeCredentials ?? []).map((c: Json) => ({ ...c, id: b64urlToBytes(c.id) })),
  } as unknown as PublicKeyCredentialCreationOptions;
}

/** requestOptions turns the server's JSON into get() options. */
export function requestOptions(json: string): PublicKeyCredentialRequestOptions {
  const o: Json = JSON.parse(json).publicKey;
  return {
    ...o,
    challenge: b64urlToBytes(o.challenge),
    allowCredentials: (o.allowCredentials ?? []).map((c: Json) => ({ ...c, id: b64urlToBytes(c.id) })),
  } as unknown as PublicKeyCredentialRequestOptions;
}

/** credentialJSON is what the server takes back (PublicKeyCredential.toJSON). */
export function credentialJSON(c: PublicKeyCredential): string {
  const withJSON = c as PublicKeyCredential & { toJSON?: () => unknown };
  if (typeof withJSON.toJSON === "function") return JSON.stringify(withJSON.toJSON());
  const r = c.response as AuthenticatorAttestationResponse & AuthenticatorAssertionResponse;
  const response: Json = { clientDataJSON: bytesToB64url(r.clientDataJSON) };
  if ("attestationObject" in r && r.attestationObject) response.attestationObject = bytesToB64url(r.attestationObject);
  if ("authenticatorData" in r && r.authenticatorData) {
    response.authenticatorData = bytesToB64url(r.authenticatorData);
    response.signature = bytesToB64url(r.signature);
    if (r.userHandle) response.userHandle = bytesToB64url(r.userHandle);
  }
  return JSON.stringify({ id: c.id, rawId: bytesToB64url(c.rawId), type: c.type, response, clientExtensionResults: c.getClientExtensionResults() });
}

/** webauthnAvailable says whether this browser (and page) can use passkeys. */
export function webauthnAvailable(): boolean {
  return typeof window !== "undefined" && "PublicKeyCredential" in window && !!navigator.credentials && window.isSecureContext;
}

/** createPasskey asks the browser for a new credential. */
export async function createPasskey(optionsJSON: string): Promise<string> {
  const c = (await navigator.credentials.create({ publicKey: creationOptions(optionsJSON) })) as PublicKeyCredential | null;
  if (!c) throw new Error("the browser made no passkey");
  return credentialJSON(c);
}

/** getPasskey asks the browser to sign the server's challenge. */
export async function getPasskey(optionsJSON: string): Promise<string> {
  const c = (await navigator.credentials.get({ publicKey: requestOptions(optionsJSON) })) as PublicKeyCredential | null;
  if (!c) throw new Error("no security key answered");
  return credentialJSON(c);
}
