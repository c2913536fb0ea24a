export * from './codec.js';
export * from './codes.js';
export { COMMANDS, type CommandSpec, HELP_TEXT } from './commands.js';
export { type Control, decodeControl, encodeControl } from './control.js';
export * from './frames.js';
export { MaxDepth } from './scan.js';
export { requestSchemas } from './schemas.js';
export { INVALID_NAME, INVALID_TEXT, isValidName, isValidText } from './text.js';
export * from './types.js';
