// Why a token was refused: the messages of Envoy's JWT library, which Envoy sends as the body of
// the 401 (403 for audiences) and, spaces as underscores, in the response code details.
export const JwtStatus = {
  ok: 'OK',
  missing: 'Jwt is missing',
  notYetValid: 'Jwt not yet valid',
  expired: 'Jwt is expired',
  badFormat: 'Jwt is not in the form of Header.Payload.Signature',
  headerParseError: 'Jwt header is an invalid Base64url input or an invalid JSON',
  headerBadAlg: 'Jwt header [alg] field is not a string',
  headerNotImplementedAlg: 'Jwt header [alg] field value is invalid',
  headerBadKid: 'Jwt header [kid] field is not a string',
  payloadParseError: 'Jwt payload is an invalid Base64 or an invalid JSON',
  signatureParseError: 'Jwt signature is an invalid Base64',
  unknownIssuer: 'Jwt issuer is not configured',
  audienceNotAllowed: 'Audiences in Jwt are not allowed',
  verificationFail: 'Jwt verification fails',
  jwksNoValidKeys: "Jwks doesn't have any valid public key",
  jwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  jwksFetchFail: 'Jwks remote fetch is failed',
} as const;

export type JwtStatus = (typeof JwtStatus)[keyof typeof JwtStatus];
