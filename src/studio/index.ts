/**
 * Rewind Studio: the event log in the browser (`rewind studio` starts it from the command line).
 * Needs the optional peer dependencies `hono` and `@hono/node-server`.
 * @module
 */
export { createStudio, type Studio, type StudioOptions } from './app.js'
export { DEFAULT_PORT, type RunningStudio, type StartStudioOptions, startStudio } from './start-studio.js'
