// The GraphQL documents the dashboard sends. Kept in one place so the
// server side can check them against schema.graphqls.

const STATE = `status ok hard attempt output lastCheck lastStateChange flapping acknowledged inDowntime suppressed`;

/** CHECK_ROW selects what a list row and the live cache need. */
export const CHECK_ROW = `
fragment CheckRow on Check {
  __typename id kind name summary groups location
  ... on Service { host { id name } }
  ... on Trap { host { id name } }
  ... on Resource { cluster { id name } }
  state { ${STATE} }
}`;

export const ME = `query Me { me { id email displayName role } site { id name summary } }`;

export const SIGN_UP = `mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token confirmationSentTo site { id name } user { id email displayName role } }
}`;

export const LOGIN = `mutation Login($site: String!, $email: String!, $password: String!) {
  login(site: $site, email: $email, password: $password) { token site { id name } user { id email displayName role } secondFactor { token methods expiresAt } }
}`;

export const LOGOUT = `mutation Logout { logout }`;

export const OVERVIEW = `query Overview {
  site { id name summary statusCounts { status count } }
  checks(filter: { problems: true }, first: 500) { totalCount nodes { ...CheckRow } }
}
${CHECK_ROW}`;

export const CHECKS = `query Checks($filter: CheckFilter, $first: Int, $after: String) {
  checks(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { ...CheckRow }
  }
}
${CHECK_ROW}`;

export const CHECK_DETAIL = `query CheckDetail($id: ID!) {
  check(id: $id) {
    ...CheckRow description enabled
    state { ${STATE} longOutput flapPercent worker runtimeMs perfdata { label value uom warn crit min max } }
    ... on Host { address services { ...CheckRow } }
    ... on Service { engine command }
    dependsOn { ...CheckRow }
    ... on Cluster { condition }
    ... on Resource { condition }
    history(first: 100) { nodes { at status previous hard attempt output } pageInfo { hasNextPage endCursor } }
    alerts { id status output openedAt updatedAt recoveredAt acknowledged acknowledgedAt acknowledgedBy escalationLevel check { id name kind state { status } } }
    downtimes(active: true) { id checkId start end comment author cancelled }
    comments { id author body createdAt }
  }
}
${CHECK_ROW}`;

export const METRICS = `query Metrics($id: ID!, $from: Time, $to: Time, $points: Int) {
  check(id: $id) { id metrics(from: $from, to: $to, points: $points) { label uom points { at value min max } } }
}`;

const ALERT_FIELDS = `id status output openedAt updatedAt recoveredAt acknowledged acknowledgedAt acknowledgedBy escalationLevel check { ...CheckRow }`;

/** ALERTS_PAGE is how many alerts the alerts page asks for at a time. */
export const ALERTS_PAGE = 500;

// The newest ALERTS_PAGE (the API's default page is 100); older ones follow with after: the last alert's cursor.
export const ALERTS = `query Alerts($open: Boolean, $after: String) { alerts(open: $open, first: ${ALERTS_PAGE}, after: $after) { ${ALERT_FIELDS} cursor } }
${CHECK_ROW}`;

export const GROUPS = `query Groups {
  groups { name summary parents status counts { status count } children { name summary parents status counts { status count } } }
}`;

export const LOCATIONS = `query Locations {
  locations { name summary parent status counts { status count } children { name summary parent status counts { status count } } }
}`;

export const TEAMS = `query Teams {
  teams { name summary contacts { name email } }
  contacts { name summary email teams }
}`;


export const ZONES = `query Zones { zones { name shared checks lastSeen workers { id name version engines node address inFlight connectedAt lastSeen } } }`;
export const WORKER_KEYS = `query WorkerKeys { workerKeys { id name zone createdAt lastSeen revoked } }`;
export const CREATE_WORKER_KEY = `mutation CreateWorkerKey($zone: String!, $name: String!) { createWorkerKey(zone: $zone, name: $name) { id name zone key } }`;
export const REVOKE_WORKER_KEY = `mutation RevokeWorkerKey($id: ID!) { revokeWorkerKey(id: $id) }`;

export const CONFIG = `query Config { configXml configRevisions(first: 20) { id author summary added changed removed diff createdAt } }`;

export const APPLY_CONFIG = `mutation ApplyConfig($xml: String!, $dryRun: Boolean) {
  applyConfig(xml: $xml, dryRun: $dryRun) { ok errors { message file line object } added changed removed diff revision }
}`;

export const SETTINGS = `query Settings {
  site { id name summary aliases }
  me { id email displayName role }
  users { id email displayName role disabled mustChangePassword }
  apiTokens { id name userId createdAt lastUsed revokedAt expiresAt }
}`;

export const ACKNOWLEDGE = `mutation Ack($checkId: ID!, $comment: String!, $sticky: Boolean) { acknowledge(checkId: $checkId, comment: $comment, sticky: $sticky) { id acknowledged } }`;
export const UNACKNOWLEDGE = `mutation Unack($checkId: ID!) { unacknowledge(checkId: $checkId) }`;
export const SCHEDULE_DOWNTIME = `mutation Downtime($checkId: ID!, $start: Time!, $end: Time!, $comment: String!) {
  scheduleDowntime(checkId: $checkId, start: $start, end: $end, comment: $comment) { id checkId start end comment author cancelled }
}`;
export const CANCEL_DOWNTIME = `mutation CancelDowntime($id: ID!) { cancelDowntime(id: $id) }`;
export const SUPPRESS = `mutation Suppress($checkId: ID!) { suppress(checkId: $checkId) }`;
export const UNSUPPRESS = `mutation Unsuppress($checkId: ID!) { unsuppress(checkId: $checkId) }`;
export const EXECUTE_NOW = `mutation ExecuteNow($checkId: ID!) { executeNow(checkId: $checkId) }`;
export const ADD_COMMENT = `mutation AddComment($checkId: ID!, $body: String!) { addComment(checkId: $checkId, body: $body) { id author body createdAt } }`;
export const CREATE_TOKEN = `mutation CreateToken($name: String!, $expiresAt: Time) { createApiToken(name: $name, expiresAt: $expiresAt) }`;
export const REVOKE_TOKEN = `mutation RevokeToken($id: ID!) { revokeApiToken(id: $id) }`;
export const INVITE_USER = `mutation Invite($email: String!, $role: Role!) { inviteUser(email: $email, role: $role) { id email displayName role } }`;
export const SET_ROLE = `mutation SetRole($userId: ID!, $role: Role!) { setRole(userId: $userId, role: $role) }`;

export const SUB_CHECKS = `subscription CheckUpdated($filter: CheckFilter) {
  checkUpdated(filter: $filter) { check { ...CheckRow } previous { status } state { ${STATE} } }
}
${CHECK_ROW}`;

export const SUB_ALERTS = `subscription AlertUpdated { alertUpdated { ${ALERT_FIELDS} } }
${CHECK_ROW}`;

export const SUB_NOTIFICATIONS = `subscription Notifications {
  notifications { type status output at check { id name kind ... on Service { host { id name } } } }
}`;

export const AGENTS = `query Agents { agents { agentId hostName connected version node since lastSeen serial certificateExpires } agentHub { url caCertificate } }`;
export const CREATE_AGENT_ENROLMENT = `mutation CreateAgentEnrolment($host: String!, $template: Boolean) { createAgentEnrolment(host: $host, template: $template) { host template token expiresAt commands hub { url } } }`;
export const REVOKE_AGENT = `mutation RevokeAgent($host: String!) { revokeAgent(host: $host) }`;
export const AGENT_CERTIFICATES = `query AgentCertificates { agentCertificates { serial agentId template notAfter issuedAt revokedAt status } }`;
export const REVOKE_AGENT_CERTIFICATE = `mutation RevokeAgentCertificate($serial: String!) { revokeAgentCertificate(serial: $serial) }`;
// Emailed single-use links (docs/limits.md: sign-up confirmation,
// invitations, password reset).
const SESSION = `token site { id name } user { id email displayName role } secondFactor { token methods expiresAt }`;
export const VERIFY_EMAIL = `mutation VerifyEmail($token: String!, $password: String!) { verifyEmail(token: $token, password: $password) { ${SESSION} } }`;
export const ACCEPT_INVITATION = `mutation AcceptInvitation($token: String!, $password: String!) { acceptInvitation(token: $token, password: $password) { ${SESSION} } }`;
export const REQUEST_PASSWORD_RESET = `mutation RequestPasswordReset($email: String!) { requestPasswordReset(email: $email) }`;
export const RESET_PASSWORD = `mutation ResetPassword($token: String!, $password: String!) { resetPassword(token: $token, password: $password) }`;
// Accounts (docs/accounts.md).
export const ACCOUNT = `query Account {
  me { id email role mustChangePassword }
  sessions { id createdAt lastSeen expiresAt idleUntil address userAgent current }
}`;
export const MUST_CHANGE = `query MustChange { me { id mustChangePassword } }`;
export const CHANGE_PASSWORD = `mutation ChangePassword($current: String!, $new: String!) { changePassword(current: $current, new: $new) }`;
export const REVOKE_SESSION = `mutation RevokeSession($id: ID!) { revokeSession(id: $id) }`;
export const SIGN_OUT_EVERYWHERE = `mutation SignOutEverywhere { signOutEverywhere }`;
export const REMOVE_MEMBER = `mutation RemoveMember($userId: ID!) { removeMember(userId: $userId) }`;
export const DISABLE_USER = `mutation DisableUser($userId: ID!, $disabled: Boolean) { disableUser(userId: $userId, disabled: $disabled) }`;
export const REQUIRE_PASSWORD_CHANGE = `mutation RequirePasswordChange($userId: ID!) { requirePasswordChange(userId: $userId) }`;
export const RESET_SECOND_FACTORS = `mutation ResetSecondFactors($userId: ID!) { resetSecondFactors(userId: $userId) }`;
export const AUDIT_LOG = `query AuditLog($first: Int, $after: String) {
  auditLog(first: $first, after: $after) { nodes { id at actor via address action target outcome detail } pageInfo { hasNextPage endCursor } }
  auditRetentionDays
}`;
export const SET_AUDIT_RETENTION = `mutation SetAuditRetention($days: Int!) { setAuditRetention(days: $days) }`;
// Second factors (docs/second-factors.md).
const FACTOR = `id kind name createdAt lastUsed`;
export const SECOND_FACTORS = `query SecondFactors { me { id role } secondFactors { factors { ${FACTOR} } recoveryCodesLeft siteRequired mustEnrol } }`;
export const MUST_ENROL = `query MustEnrol { secondFactors { mustEnrol } }`;
export const BEGIN_TOTP = `mutation BeginTotpEnrolment($name: String) { beginTotpEnrolment(name: $name) { id secret uri qrCode } }`;
export const CONFIRM_TOTP = `mutation ConfirmTotpEnrolment($id: ID!, $code: String!) { confirmTotpEnrolment(id: $id, code: $code) { factor { ${FACTOR} } recoveryCodes } }`;
export const BEGIN_PASSKEY_REGISTRATION = `mutation BeginPasskeyRegistration { beginPasskeyRegistration { token options } }`;
export const FINISH_PASSKEY_REGISTRATION = `mutation FinishPasskeyRegistration($token: String!, $name: String, $response: String!) { finishPasskeyRegistration(token: $token, name: $name, response: $response) { factor { ${FACTOR} } recoveryCodes } }`;
export const REMOVE_SECOND_FACTOR = `mutation RemoveSecondFactor($id: ID!, $password: String) { removeSecondFactor(id: $id, password: $password) }`;
export const REGENERATE_RECOVERY_CODES = `mutation RegenerateRecoveryCodes { regenerateRecoveryCodes }`;
export const SET_REQUIRE_SECOND_FACTOR = `mutation SetRequireSecondFactor($required: Boolean!) { setRequireSecondFactor(required: $required) }`;
export const BEGIN_PASSKEY_SIGN_IN = `mutation BeginPasskeySignIn($challenge: String!) { beginPasskeySignIn(challenge: $challenge) }`;
export const FINISH_SIGN_IN = `mutation FinishSignIn($challenge: String!, $method: SecondFactorMethod!, $code: String, $response: String) { finishSignIn(challenge: $challenge, method: $method, code: $code, response: $response) { ${SESSION} } }`;

export const METRICS_EXPORTS = `query MetricsExports {
  metricsExports { name protocol url auth enabled ownSeries sent dropped queued failures lastSuccessAt lastError lastErrorAt nextAttemptAt }
}`;

export const SLAS = `query SLAs {
  slas {
    id name subject subjectKind checkId target period timeZone downtime blind from to percent met
    budgetSeconds usedSeconds remainingSeconds remainingFraction
    incidents(first: 20) { checkId check status from to output }
  }
}`;

export const STATUS_PAGES = `query StatusPages {
  statusPages {
    id slug title description domain path
    components { id name description position checkId groupName }
    incidents(first: 20) { id kind title impact state components scheduledFrom scheduledTo createdAt resolvedAt updates { id state body author at } }
  }
  hosts { id name services { id name } }
  groups { name }
}`;
export const SAVE_STATUS_PAGE = `mutation SaveStatusPage($input: StatusPageInput!) { saveStatusPage(input: $input) { id } }`;
export const DELETE_STATUS_PAGE = `mutation DeleteStatusPage($id: ID!) { deleteStatusPage(id: $id) }`;
export const SAVE_STATUS_COMPONENT = `mutation SaveStatusComponent($input: StatusComponentInput!) { saveStatusComponent(input: $input) { id } }`;
export const DELETE_STATUS_COMPONENT = `mutation DeleteStatusComponent($id: ID!) { deleteStatusComponent(id: $id) }`;
export const CREATE_STATUS_INCIDENT = `mutation CreateStatusIncident($input: StatusIncidentInput!) { createStatusIncident(input: $input) { id } }`;
export const UPDATE_STATUS_INCIDENT = `mutation UpdateStatusIncident($id: ID!, $state: String!, $body: String!) { updateStatusIncident(id: $id, state: $state, body: $body) { id } }`;

export const AVAILABILITY = `query Availability($id: ID, $from: Time!, $to: Time!) {
  availability(checkId: $id, from: $from, to: $to) { seconds ok downtime blind pending statuses { status fraction seconds } }
}`;
