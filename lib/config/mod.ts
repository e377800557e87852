/**
 * Config loading shared by cloudcore and edgecore: schema building blocks, YAML loading with every problem
 * reported as `<dotted.path>: <message>`, and the log overrides both binaries take from flags.
 */

export { ConfigError, EX_CONFIG } from "../errors.ts";
export {
  bool,
  describeValue,
  DNS_SUBDOMAIN,
  emptyOr,
  intIn,
  ipAddress,
  ipAddressList,
  isHostPort,
  logSection,
  matching,
  mustBe,
  nonEmptyStr,
  oneOf,
  port,
  positiveInt,
  positiveNumber,
  section,
  str,
  stringList,
  stringMap,
  type StringTest,
} from "./fields.ts";
export {
  BUILT_IN_DEFAULTS,
  loadConfig,
  loadConfigFile,
  type LoadedConfig,
  MAX_CONFIG_BYTES,
  parseConfigText,
  parseConfigValue,
  toYaml,
} from "./load.ts";
export { type LogOverrides, overrideLog } from "./overrides.ts";
export { dottedPath, formatProblem, type Problem, unknownKeys } from "./problems.ts";
