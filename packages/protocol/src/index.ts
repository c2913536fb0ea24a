export * from './codes.js';
export * from './types.js';
export * from './frames.js';
export * from './codec.js';
export { requestSchemas } from './schemas.js';
export { type Control, encodeControl, decodeControl } from './control.js';
