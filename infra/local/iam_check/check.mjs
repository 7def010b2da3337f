// Evaluates every AWS call the functions made during `make test` (recorded by the local
// executor: function, role, IAM action, resource, condition keys) against the policies of that
// function's role as the stack deployed them, with @cloud-copilot/iam-simulate, an IAM policy
// evaluator that also checks each resource ARN against the action's resource types.
//
//   node check.mjs CALLS.jsonl POLICIES.json
//       every distinct call; exit 1 naming each one the policies would deny
//   node check.mjs CALLS.jsonl POLICIES.json --without FUNCTION ACTION RESOURCE_PART
//       the same, with ACTION on resources containing RESOURCE_PART taken out of FUNCTION's
//       policies: shows the check fails on a missing permission (exit 0 only if it names it)
//
// IAM_CHECK_MODULES: the node_modules directory install.sh put the evaluator in.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import path from 'node:path'

const require = createRequire(path.join(process.env.IAM_CHECK_MODULES, 'noop.js'))
const { runSimulation } = require('@cloud-copilot/iam-simulate')

const [callsPath, policiesPath, mode, ...without] = process.argv.slice(2)
const calls = readFileSync(callsPath, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
const policiesByRole = JSON.parse(readFileSync(policiesPath, 'utf8'))

const asList = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value])

/** The role's policies with `action` on resources containing `resourcePart` removed. */
function withoutPermission(policies, action, resourcePart) {
  return policies.map(({ name, policy }) => ({
    name,
    policy: {
      ...policy,
      Statement: asList(policy.Statement).flatMap((statement) => {
        const resources = asList(statement.Resource)
        if (!resources.some((r) => r.includes(resourcePart))) return [statement]
        const actions = asList(statement.Action).filter((a) => a !== action)
        const kept = resources.filter((r) => !r.includes(resourcePart))
        // The other resources keep the action; the one resource keeps the other actions.
        const parts = []
        if (kept.length) parts.push({ ...statement, Resource: kept })
        if (actions.length) parts.push({ ...statement, Action: actions, Resource: resources.filter((r) => r.includes(resourcePart)) })
        return parts
      }),
    },
  }))
}

/** One entry per distinct (function, action, resource, context): the calls repeat a lot. */
function distinctRequests() {
  const seen = new Map()
  for (const call of calls) {
    for (const request of call.requests) {
      const key = JSON.stringify([call.function, call.role, request])
      if (!seen.has(key)) seen.set(key, { ...request, function: call.function, role: call.role, count: 0 })
      seen.get(key).count += 1
    }
  }
  return [...seen.values()]
}

async function evaluate(request, policies) {
  const account = request.role.split(':')[4]
  const roleName = request.role.split('/').pop()
  const result = await runSimulation(
    {
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: request.action,
        principal: `arn:aws:sts::${account}:assumed-role/${roleName}/${request.function}`,
        resource: { accountId: account, resource: request.resource },
        contextVariables: request.context,
      },
    },
    {},
  )
  if (result.errors) return `invalid request: ${result.errors.message}`
  return result.overallResult
}

async function check(adjust) {
  const denied = []
  const requests = distinctRequests()
  for (const request of requests) {
    const policies = adjust(request, policiesByRole[request.role] ?? [])
    const outcome = await evaluate(request, policies)
    if (outcome !== 'Allowed') denied.push({ ...request, outcome })
  }
  return { denied, requests }
}

const describe = (d) =>
  `${d.function} ${d.action} ${d.resource}${Object.keys(d.context).length ? ' ' + JSON.stringify(d.context) : ''}: ${d.outcome} (${d.count} calls)`

if (mode === '--without') {
  const [fn, action, resourcePart] = without
  const { denied } = await check((request, policies) =>
    request.function.endsWith(fn) ? withoutPermission(policies, action, resourcePart) : policies,
  )
  const named = denied.filter((d) => d.function.endsWith(fn) && d.action === action && d.resource.includes(resourcePart))
  for (const d of denied) console.log(`iam check (${fn} without ${action} on *${resourcePart}*): denied ${describe(d)}`)
  if (named.length === 0 || named.length !== denied.length) {
    console.error(`iam check: removing ${action} on *${resourcePart}* from ${fn} should deny exactly those calls`)
    process.exit(1)
  }
} else {
  const { denied, requests } = await check((_request, policies) => policies)
  const functions = new Set(requests.map((r) => r.function))
  for (const d of denied) console.error(`iam check: DENIED ${describe(d)}`)
  console.log(
    `iam check: ${calls.length} calls by ${functions.size} functions, ${requests.length} distinct requests, ${denied.length} denied`,
  )
  if (denied.length) process.exit(1)
}
