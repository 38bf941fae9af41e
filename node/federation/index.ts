export { Federation, directoryIdOf, directorySpec, DIRECTORY_KEY, type Member, type FederationInit, type FederationComponents } from "./federation.js";
