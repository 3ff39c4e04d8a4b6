export { ServiceAccountTokens, type ObjectLookup, type ServiceAccountTokenOptions } from "./tokens.js";
export { InvalidTokenError, keyId, signToken, verifyToken, type TokenClaims } from "./jwt.js";
