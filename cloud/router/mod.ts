/**
 * The Router: Rule and RuleEndpoint (rules.kubeedge.io/v1) routes between the rest endpoint on cloudcore, the
 * nodes' EventBus and their ServiceBus (docs/router.md). The only public face of cloud/router.
 */
export {
  createRouter,
  isRouterMessage,
  type Router,
  type RouterConfig,
  type RouterHub,
  type RouterOptions,
} from "./router.ts";
