// linli dashboard: a static page served by `linli run`, reading the local HTTP API.
// No build step, no dependencies. The API token comes from the URL fragment (#token=…),
// which browsers never send to the server; it is kept in sessionStorage for reloads.
"use strict";

// ---- labels ----------------------------------------------------------------------------

const I18N = {
  zh: {
    title: "社区工作台", refresh: "刷新", lang_switch: "English",
    nav_rooms: "场地预约", nav_kitchen: "共享厨房", nav_volunteers: "志愿积分",
    nav_compounds: "小区物业", nav_wishes: "微心愿", nav_sync: "同步状态",
    updated: "更新于 {0}", loading: "加载中…",
    live_on: "实时", live_off: "连接中断，正在重连…",
    daemon_down: "linli 守护进程未运行（请用 `linli run` 启动）",
    retry: "重试",
    auth_title: "需要访问令牌",
    auth_missing: "页面地址中没有访问令牌，无法读取数据。",
    auth_wrong: "访问令牌错误或已过期（守护进程每次启动都会生成新令牌），无法读取数据。",
    auth_where1: "请打开数据目录中 dashboard.url 文件里的地址（在终端中运行 linli run 时也会打印出来）：",
    auth_where2: "令牌也保存在数据目录的 api.token 文件中（默认目录 ~/.linli，或 --dir / LINLI_DIR 指定的目录），可以这样查看：",
    auth_where3: "每次启动守护进程都会生成新令牌，旧地址随之失效。",
    auth_paste: "粘贴令牌：", auth_use: "使用此令牌",
    not_found: "未找到：{0}", error: "出错了：{0}", refused: "操作被拒绝：{0}",
    node: "节点", org: "组织",
    week: "{0} 至 {1}", prev_week: "‹ 上一周", this_week: "本周", next_week: "下一周 ›",
    days: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    capacity: "容纳 {0} 人", opening: "开放时间 {0}", owner: "所有者 {0}",
    no_rooms: "本节点没有活动室。", no_bookings: "暂无预约。",
    upcoming: "预约列表（今天及以后）", occupancy: "本周每日占用（小时）",
    th_time: "时间", th_purpose: "用途", th_booker: "负责人", th_org: "团体", th_people: "人数",
    th_status: "状态", th_actions: "操作", th_reason: "原因",
    booker: "负责人：{0}",
    st_tentative: "待确认", st_waitlisted: "候补", st_confirmed: "已确认", st_rejected: "已拒绝",
    st_revoked: "已撤销", st_cancelled: "已取消", st_contested: "有冲突",
    confirm: "确认", reject: "拒绝", revoke: "撤销",
    reject_title: "拒绝预约", revoke_title: "撤销已确认的预约", reason: "原因（必填，会记录在案）",
    cancel: "取消", ok: "确定",
    done_confirm: "预约已确认", done_reject: "预约已拒绝", done_revoke: "预约已撤销",
    legend_tentative: "待确认", legend_confirmed: "已确认", legend_revoked: "已撤销/拒绝",
    not_owner: "只有场地所有者可以处理预约",
    confirmed_h: "已确认", tentative_h: "待确认",
    no_kitchens: "本节点没有共享厨房。",
    service_day: "{0} · {1}", service_dinner: "晚餐", service_lunch: "午餐", service_breakfast: "早餐",
    cutoff: "预订截止 {0}", cutoff_passed: "已过截止时间", cutoff_open: "可预订",
    portions_vs: "已接受 {0} 份 + 待处理 {1} 份 / 每日上限 {2} 份",
    orders_chart: "未来七天订餐（份）", th_household: "住户", th_portions: "份数", th_items: "菜品", th_placed: "下单时间",
    no_orders: "当天暂无订单。", accepted_p: "已接受", waiting_p: "待处理", cap_line: "上限",
    st_placed: "待处理", st_accepted: "已接受", st_refused: "已拒绝", st_collected: "已取餐", st_uncollected: "未取餐",
    no_ledgers: "本节点没有志愿服务台账。",
    ledger_of: "{0} · {1} 年", team: "队伍", all_teams: "全部队伍",
    th_rank: "名次", th_volunteer: "志愿者", th_points: "积分", th_hours: "时长", th_stars: "星级",
    stars_n: "{0} 星", points_month: "每月获得积分", months: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
    no_volunteers: "暂无服务记录。",
    store_h: "积分超市", th_item: "物品", th_cost: "所需积分", th_stock: "库存", th_redeemed: "已兑换",
    no_store: "积分超市暂无物品。", out_of_stock: "缺货", cert_btn: "星级证书",
    cert_title: "志愿服务星级证书", cert_issued: "颁发单位：{0}", cert_on: "日期：{0}",
    cert_volunteer: "志愿者", cert_stars: "星级", cert_earned: "累计获得积分", cert_balance: "可用积分",
    cert_expired: "已过期积分", cert_hours: "年度服务时长", th_year: "年度", cert_print: "打印证书",
    sessions: "签到活动", session_open: "开启签到", session_activity: "活动或岗位", session_place: "地点",
    session_start: "开始", session_end: "结束", session_code: "当前签到码", session_page: "签到页面",
    session_qr: "签到页面二维码", session_close: "结束签到并记录时长", session_closed: "已结束",
    session_changes: "每分钟更换，{0} 换新码", session_checked: "已签到 {0} 人", no_sessions: "暂无签到活动。",
    th_checked_in: "签到", th_checked_out: "签退",
    no_registries: "本节点没有小区台账。", year: "年度",
    th_compound: "小区", th_address: "地址", th_households: "户数", th_mode: "管理模式", th_manager: "物业/管理方",
    th_score: "综合评分", th_flag: "考核",
    mode_property_firm: "物业公司", mode_guarantee_firm: "保障型物业", mode_property_rights_unit: "产权单位管理",
    mode_self_managed: "自治管理", mode_unmanaged: "无主管",
    below: "低于合格线", passed: "合格", no_score: "未评分", incomplete: "评分未齐", vacant: "空缺", contested: "有争议",
    no_wishes_docs: "本节点没有微心愿台账。", no_wishes: "暂无心愿。",
    nav_roster: "志愿者名册", no_roster_docs: "本节点没有志愿者名册。", no_roster: "暂无志愿者。",
    th_name: "姓名", th_phone: "电话", th_unit: "报到单位", th_teams: "队伍", th_posts: "岗位",
    vkind_resident: "居民", vkind_in_service: "在职党员", vst_active: "在岗", vst_paused: "暂停", vst_moved: "已迁出", vst_left: "已退出",
    th_title: "标题", th_kind: "类型", th_category: "类别", th_by: "发布方", th_claims: "认领",
    kind_wish: "微心愿", kind_offer: "服务项目", kind_suggestion: "建议", kind_problem: "问题",
    st_published: "待认领", st_claimed: "已认领", st_assigned: "已指派", st_fulfilled: "已完成",
    st_received: "已受理", st_routed: "已转办", st_resolved: "已解决", st_declined: "不予受理", st_withdrawn: "已撤回",
    status_title: "本节点", documents: "文档", changes: "变更", accepted: "已接受", pending: "待处理变更",
    rejected_n: "被拒绝变更", peers_n: "已连接节点", version: "版本", equivocating_n: "重复签名的密钥",
    docs_summary: "台账 {0} · 账本 {1} · 场地 {2} · 心愿 {3} · 联邦 {4}",
    net_sessions: "同步会话", net_bytes: "同步流量", net_sessions_v: "成功 {0} · 失败 {1} · 应答 {2}",
    net_bytes_v: "收 {0} · 发 {1}", net_off: "网络未开启",
    nav_invite: "邀请节点", invite_help: "为新加入的单位、社区或街道生成一次性邀请码：对方在新电脑上运行 linli join 邀请码（或扫描二维码），本节点核对后为其签发证书。",
    invite_role: "角色", invite_org: "组织代码", invite_expires: "有效期", invite_make: "生成邀请码",
    role_unit: "共建单位", role_community: "社区", role_street: "街道", role_partner: "合作方",
    expires_24h: "24 小时", expires_7d: "7 天", expires_1h: "1 小时",
    invite_done: "{0}（{1}）的邀请码，{2} 前有效，只能使用一次：",
    invite_how: "在新电脑上运行：linli join 邀请码。邀请码如同密码，请当面或经可信渠道交付。", invite_qr: "邀请码二维码",
    peers_title: "对等节点", no_peers: "暂无对等节点。", th_connected: "连接", th_last_sync: "上次同步",
    th_ok_failed: "成功/失败", th_dropped: "断开原因", yes: "是", no: "否", never: "从未",
    rejected_title: "被拒绝的变更", no_rejected: "没有被拒绝的变更。",
    equivocating_title: "重复签名的密钥（同一序号签了两个不同变更；保留哈希较小者）", th_seq: "序号", th_kept: "保留", th_refused: "拒绝",
    th_received: "收到时间", th_doc: "文档", th_signer: "签名者",
    footer: "数据保存在本机 linli 节点中，经签名后与街道和社区的其他节点同步。",
  },
  en: {
    title: "Community dashboard", refresh: "Refresh", lang_switch: "中文",
    nav_rooms: "Room bookings", nav_kitchen: "Shared kitchen", nav_volunteers: "Volunteer points",
    nav_compounds: "Compounds", nav_wishes: "Micro-wishes", nav_sync: "Sync status",
    updated: "updated {0}", loading: "loading…",
    live_on: "live", live_off: "disconnected — reconnecting…",
    daemon_down: "the linli daemon is not running (start it with `linli run`)",
    retry: "Retry",
    auth_title: "An API token is needed",
    auth_missing: "The page address carries no API token, so no data can be read.",
    auth_wrong: "The API token is wrong or out of date (the daemon makes a new one each time it starts), so no data can be read.",
    auth_where1: "Open the address in the file dashboard.url in the data directory (linli run also prints it when started in a terminal):",
    auth_where2: "The token is also in the file api.token in the data directory (~/.linli by default, or the one given with --dir / LINLI_DIR):",
    auth_where3: "Each start of the daemon makes a new token; older addresses stop working.",
    auth_paste: "Paste the token:", auth_use: "Use this token",
    not_found: "Not found: {0}", error: "Error: {0}", refused: "Refused: {0}",
    node: "Node", org: "Organisation",
    week: "{0} to {1}", prev_week: "‹ Previous week", this_week: "This week", next_week: "Next week ›",
    days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    capacity: "{0} people", opening: "open {0}", owner: "owner {0}",
    no_rooms: "This node holds no activity room.", no_bookings: "No bookings.",
    upcoming: "Bookings (today and later)", occupancy: "Occupancy this week (hours)",
    th_time: "Time", th_purpose: "Purpose", th_booker: "Responsible", th_org: "Group", th_people: "People",
    th_status: "Status", th_actions: "Actions", th_reason: "Reason",
    booker: "responsible: {0}",
    st_tentative: "tentative", st_waitlisted: "waitlisted", st_confirmed: "confirmed", st_rejected: "rejected",
    st_revoked: "revoked", st_cancelled: "cancelled", st_contested: "contested",
    confirm: "Confirm", reject: "Reject", revoke: "Revoke",
    reject_title: "Reject booking", revoke_title: "Revoke a confirmed booking", reason: "Reason (required, kept on record)",
    cancel: "Cancel", ok: "OK",
    done_confirm: "Booking confirmed", done_reject: "Booking rejected", done_revoke: "Booking revoked",
    legend_tentative: "tentative", legend_confirmed: "confirmed", legend_revoked: "revoked / rejected",
    not_owner: "only the room's owner decides bookings",
    confirmed_h: "confirmed", tentative_h: "tentative",
    no_kitchens: "This node holds no shared kitchen.",
    service_day: "{0} · {1}", service_dinner: "dinner", service_lunch: "lunch", service_breakfast: "breakfast",
    cutoff: "orders close {0}", cutoff_passed: "closed", cutoff_open: "open",
    portions_vs: "{0} accepted + {1} waiting / {2} portions a day",
    orders_chart: "Orders, next seven days (portions)", th_household: "Household", th_portions: "Portions", th_items: "Dishes", th_placed: "Placed",
    no_orders: "No orders that day.", accepted_p: "accepted", waiting_p: "waiting", cap_line: "capacity",
    st_placed: "waiting", st_accepted: "accepted", st_refused: "refused", st_collected: "collected", st_uncollected: "not collected",
    no_ledgers: "This node holds no service ledger.",
    ledger_of: "{0} · {1}", team: "Team", all_teams: "all teams",
    th_rank: "Rank", th_volunteer: "Volunteer", th_points: "Points", th_hours: "Hours", th_stars: "Stars",
    stars_n: "{0} stars", points_month: "Points earned per month", months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    no_volunteers: "No service recorded yet.",
    store_h: "Points store", th_item: "Item", th_cost: "Cost (points)", th_stock: "In stock", th_redeemed: "Redeemed",
    no_store: "The points store has no items yet.", out_of_stock: "out of stock", cert_btn: "Certificate",
    cert_title: "Volunteer star certificate", cert_issued: "Issued by {0}", cert_on: "Date: {0}",
    cert_volunteer: "Volunteer", cert_stars: "Stars", cert_earned: "Points earned", cert_balance: "Points available",
    cert_expired: "Points expired", cert_hours: "Hours by year", th_year: "Year", cert_print: "Print certificate",
    sessions: "Check-in sessions", session_open: "Open check-in", session_activity: "Activity or post", session_place: "Place",
    session_start: "Start", session_end: "End", session_code: "Current check-in code", session_page: "Check-in page",
    session_qr: "QR code of the check-in page", session_close: "Close and record the hours", session_closed: "closed",
    session_changes: "changes every minute; next at {0}", session_checked: "{0} checked in", no_sessions: "No check-in sessions.",
    th_checked_in: "In", th_checked_out: "Out",
    no_registries: "This node holds no compound registry.", year: "Year",
    th_compound: "Compound", th_address: "Address", th_households: "Households", th_mode: "Management", th_manager: "Appointed firm",
    th_score: "Composite score", th_flag: "Assessment",
    mode_property_firm: "property firm", mode_guarantee_firm: "guarantee firm", mode_property_rights_unit: "property-rights unit",
    mode_self_managed: "self-managed", mode_unmanaged: "unmanaged",
    below: "below threshold", passed: "passed", no_score: "not scored", incomplete: "scores incomplete", vacant: "vacant", contested: "contested",
    no_wishes_docs: "This node holds no wishes document.", no_wishes: "No wishes.",
    nav_roster: "Volunteer registry", no_roster_docs: "This node holds no volunteer registry.", no_roster: "No volunteers.",
    th_name: "Name", th_phone: "Phone", th_unit: "Reporting unit", th_teams: "Teams", th_posts: "Posts",
    vkind_resident: "resident", vkind_in_service: "in-service party member", vst_active: "active", vst_paused: "paused", vst_moved: "moved", vst_left: "left",
    th_title: "Title", th_kind: "Kind", th_category: "Category", th_by: "Posted by", th_claims: "Claims",
    kind_wish: "wish", kind_offer: "offer", kind_suggestion: "suggestion", kind_problem: "problem",
    st_published: "open", st_claimed: "claimed", st_assigned: "assigned", st_fulfilled: "fulfilled",
    st_received: "received", st_routed: "routed", st_resolved: "resolved", st_declined: "declined", st_withdrawn: "withdrawn",
    status_title: "This node", documents: "Documents", changes: "Changes", accepted: "accepted", pending: "Pending changes",
    rejected_n: "Rejected changes", peers_n: "Connected peers", version: "Version", equivocating_n: "Equivocating keys",
    docs_summary: "registry {0} · ledger {1} · resource {2} · wishes {3} · federation {4}",
    net_sessions: "Sync sessions", net_bytes: "Sync traffic", net_sessions_v: "{0} ok · {1} failed · {2} answered",
    net_bytes_v: "{0} in · {1} out", net_off: "networking off",
    nav_invite: "Invite a node", invite_help: "Make a one-time join code for a unit, community or street joining the district: on the new computer they run linli join with the code (or scan the QR code); this node checks it and issues their certificate.",
    invite_role: "Role", invite_org: "Organisation code", invite_expires: "Valid for", invite_make: "Make a join code",
    role_unit: "co-building unit", role_community: "community", role_street: "street", role_partner: "partner",
    expires_24h: "24 hours", expires_7d: "7 days", expires_1h: "1 hour",
    invite_done: "Join code for {0} ({1}), valid until {2}, usable once:",
    invite_how: "On the new computer run: linli join CODE. Treat the code like a password: hand it over in person or through a trusted channel.", invite_qr: "QR code of the join code",
    peers_title: "Peers", no_peers: "No peers yet.", th_connected: "Connected", th_last_sync: "Last sync",
    th_ok_failed: "ok / failed", th_dropped: "Dropped because", yes: "yes", no: "no", never: "never",
    rejected_title: "Rejected changes", no_rejected: "No rejected changes.",
    equivocating_title: "Equivocating keys (two different changes signed as one seq; the smaller hash is kept)", th_seq: "Seq", th_kept: "Kept", th_refused: "Refused",
    th_received: "Received", th_doc: "Document", th_signer: "Signer",
    footer: "The data lives in this machine's linli node and is signed and synchronised with the other nodes of the street and community.",
  },
};
Object.assign(I18N.zh, {
  statement_open: "查看对账单", statement_title: "志愿服务对账单 · {0} · {1} 年",
  statement_balance: "当前可用积分（已除去过期积分和退回记录，本节点所持全部台账）：{0}", statement_none: "本台账中没有该志愿者的记录。",
  entry_declined_n: "已退回，不计分：{0}",
  th_date: "日期", th_type: "类别", th_what: "内容", th_issuer: "记录单位", close: "关闭",
  entry_service: "服务", entry_redemption: "兑换", entry_correction: "更正",
});
Object.assign(I18N.en, {
  statement_open: "Open the statement", statement_title: "Volunteer statement · {0} · {1}",
  statement_balance: "Points available now (expired points and declined entries left out; all ledgers held here): {0}", statement_none: "No entries of this volunteer in this ledger.",
  entry_declined_n: "declined, not counted: {0}",
  th_date: "Date", th_type: "Type", th_what: "What", th_issuer: "Recorded by", close: "Close",
  entry_service: "service", entry_redemption: "redemption", entry_correction: "correction",
});
// Confirmed wishes share the booking label key.
I18N.zh.training_clock = "培训时钟：模拟时间 {0}（本节点不与真实时间的节点同步）";
I18N.en.training_clock = "Training clock: simulated time {0} (this node never syncs with nodes on real time)";
I18N.zh.st_wish_confirmed = "已验收";
I18N.en.st_wish_confirmed = "confirmed";
// Duty rotas (volunteer registry) and activity sign-ups (rooms).
Object.assign(I18N.zh, {
  rota_title: "值班表（未来 7 天）", no_rota: "暂无值班表。", th_date: "日期", th_shift: "班次",
  th_rota: "值班", th_needed: "需要", th_assigned: "在岗", th_missing: "缺口", rota_gap: "缺 {0} 人", rota_ok: "已排满",
  signups_title: "活动报名：{0}", signups_places: "名额 {0}/{1} · 报名截止 {2}", th_participant: "报名人",
  pkind_household: "住户", pkind_volunteer: "志愿者", su_placed: "已报名", su_waitlisted: "候补第 {0} 位", su_cancelled: "已取消",
  no_signups: "暂无报名。",
});
Object.assign(I18N.en, {
  rota_title: "Duty rotas (next 7 days)", no_rota: "No duty rota.", th_date: "Date", th_shift: "Shift",
  th_rota: "Rota", th_needed: "Needed", th_assigned: "On duty", th_missing: "Gap", rota_gap: "{0} missing", rota_ok: "covered",
  signups_title: "Sign-ups: {0}", signups_places: "Places {0}/{1} · sign-ups close {2}", th_participant: "Participant",
  pkind_household: "household", pkind_volunteer: "volunteer", su_placed: "placed", su_waitlisted: "waitlist #{0}", su_cancelled: "cancelled",
  no_signups: "No sign-ups yet.",
});

// The generated forms' labels (forms.js, loaded first).
if (typeof FORM_I18N !== "undefined") {
  Object.assign(I18N.zh, FORM_I18N.zh);
  Object.assign(I18N.en, FORM_I18N.en);
}

let lang = localStorage.getItem("linli.lang") === "en" ? "en" : "zh";

/** The label `key` in the current language, `{0}`, `{1}` … replaced by `args`. */
function t(key, ...args) {
  let s = I18N[lang][key];
  if (s === undefined) s = I18N.en[key];
  if (s === undefined) return String(key);
  if (typeof s !== "string") return s;
  return s.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)] ?? ""));
}

/** A label for a value from the API (status, kind, mode), or the value itself. */
function label(prefix, value) {
  const key = prefix + String(value).replace(/[ -]/g, "_");
  return I18N[lang][key] ?? I18N.en[key] ?? String(value);
}

// ---- DOM helpers -----------------------------------------------------------------------

/** Builds an element; attributes starting with `on` are listeners, strings become text. */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

const SVGNS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

function $(id) { return document.getElementById(id); }

function table(cols, rows, rowAttrs) {
  return h("table", {},
    h("thead", {}, h("tr", {}, cols.map(c => h("th", { class: c.num ? "num" : null }, t(c.label))))),
    h("tbody", {}, rows.map(r => h("tr", rowAttrs ? rowAttrs(r) : {},
      cols.map(c => h("td", { class: c.num ? "num" : c.cls || null }, c.cell(r)))))));
}

function badge(prefix, status) {
  return h("span", { class: "badge st-" + status, "data-status": status }, label(prefix, status));
}

function empty(key) { return h("p", { class: "empty" }, t(key)); }

function errorBox(e) { return h("p", { class: "error-box" }, explain(e)); }

function shortId(id) { return id && id.length > 14 ? id.slice(0, 10) + "…" : id || ""; }

// ---- dates (calendar dates as "YYYY-MM-DD"; times as the API's "YYYY-MM-DD HH:MM") --------

// On a training clock, "now" (today's kitchen days, this week) is the node's simulated time.
let clockSkew = 0;

function nowIn(zone) {
  const parts = {};
  const f = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone || undefined, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  for (const p of f.formatToParts(new Date(Date.now() + clockSkew))) parts[p.type] = p.value;
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}` };
}

function addDays(date, n) {
  const d = new Date(date + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function mondayOf(date) {
  const d = new Date(date + "T00:00:00Z");
  return addDays(date, -((d.getUTCDay() + 6) % 7));
}

function minutesOf(time) { // "YYYY-MM-DD HH:MM" → minutes since midnight
  const m = /(\d\d):(\d\d)$/.exec(time || "");
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
}

function hm(time) { return (time || "").slice(11, 16); }

/** Opening hours from the resource's text ("Mon–Sun 08:00–21:00"): [open, close] hours. */
function openingHours(text) {
  const all = [...String(text || "").matchAll(/(\d\d):(\d\d)\s*[–-]\s*(\d\d):(\d\d)/g)];
  if (!all.length) return [8, 21];
  const open = Math.min(...all.map(m => Number(m[1])));
  const close = Math.max(...all.map(m => Number(m[3]) + (Number(m[4]) > 0 ? 1 : 0)));
  return close > open ? [open, close] : [0, 24];
}

function bytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

// ---- API -------------------------------------------------------------------------------

class ApiError extends Error {
  /** `zh`: linli-core's refusal in Chinese, when the node sent one. */
  constructor(status, kind, message, zh) { super(message); this.status = status; this.kind = kind; this.zh = zh || null; }
}

let token = "";

function takeToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    token = decodeURIComponent(m[1]).trim();
    sessionStorage.setItem("linli.token", token);
    // Keep the token out of the address bar, history and screenshots.
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    token = sessionStorage.getItem("linli.token") || "";
  }
}

async function api(path, init) {
  const opts = Object.assign({ cache: "no-store" }, init || {});
  opts.headers = Object.assign({ Authorization: "Bearer " + token }, (init && init.headers) || {});
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, "down", t("daemon_down"));
  }
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    const msg = body && body.error ? body.error : `HTTP ${r.status}`;
    throw new ApiError(r.status, (body && body.kind) || "error", msg, body && body.message_zh);
  }
  return body;
}

function call(request) {
  return api("/api/v1/call", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
  });
}

function q(path, params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  const qs = u.toString();
  return qs ? `${path}?${qs}` : path;
}

/** What to tell people about an error. */
function explain(e) {
  if (!(e instanceof ApiError)) return t("error", e && e.message ? e.message : String(e));
  if (e.status === 0) return t("daemon_down");
  const message = lang === "zh" && e.zh ? e.zh : e.message;
  if (e.status === 404) return t("not_found", message);
  if (e.status === 403 || e.status === 409 || e.status === 422) return t("refused", message);
  return t("error", message);
}

// ---- state -----------------------------------------------------------------------------

const D = {
  status: null, resources: [], docs: [], catalogue: null,
  bookings: {}, kitchen: {}, entries: {}, boards: {}, compounds: {}, wishes: {}, rosters: {},
  peers: null, rejected: null, errors: {},
  store: {}, cert: null,
};
const UI = { week: {}, day: {}, team: {}, year: null };

function docsOf(kind) { return D.docs.filter(d => d.kind === kind); }
function myOrg() { return D.status ? D.status.org : ""; }

async function settle(key, promise) {
  try { return await promise; } catch (e) {
    if (e instanceof ApiError && (e.status === 0 || e.status === 401)) throw e;
    D.errors[key] = e;
    return null;
  }
}

let loading = false;

async function load() {
  if (loading) return;
  loading = true;
  try {
    if (!token) { showAuth("auth_missing"); return; }
    D.errors = {};
    D.status = await api("/api/v1/status");
    clockSkew = D.status.clock === "training" && typeof D.status.time_ms === "number"
      ? D.status.time_ms - Date.now() : 0;
    const [resources, docs, peers, rejected, cat] = await Promise.all([
      settle("resources", api("/api/v1/resources")),
      settle("documents", api("/api/v1/documents")),
      settle("peers", api("/api/v1/peers")),
      settle("rejected", api("/api/v1/rejected")),
      settle("catalogue", api("/api/v1/catalogue")),
    ]);
    D.catalogue = cat;
    D.resources = resources || [];
    D.docs = docs || [];
    D.peers = peers;
    D.rejected = rejected;
    const year = UI.year || Number(nowIn().date.slice(0, 4));
    const jobs = [];
    D.bookings = {}; D.kitchen = {}; D.entries = {}; D.boards = {}; D.compounds = {}; D.wishes = {}; D.rosters = {};
    D.sessions = {}; D.codes = {};
    for (const r of D.resources) {
      if (r.kind === "kitchen") {
        const today = nowIn(r.zone).date;
        D.kitchen[r.id] = {};
        for (let i = 0; i < 7; i++) {
          const date = addDays(today, i);
          jobs.push(settle("kitchen:" + r.id, api(q("/api/v1/orders", { doc: r.id, date })))
            .then(v => { D.kitchen[r.id][date] = v; }));
        }
      } else {
        jobs.push(settle("bookings:" + r.id, api(q("/api/v1/bookings", { doc: r.id })))
          .then(v => { D.bookings[r.id] = v || []; }));
      }
    }
    for (const l of docsOf("ledger")) {
      jobs.push(settle("ledger:" + l.id, api(q("/api/v1/leaderboard", { doc: l.id, team: UI.team[l.id] })))
        .then(v => { D.boards[l.id] = v || []; }));
      jobs.push(settle("ledger:" + l.id, call({ cmd: "entries", doc: l.id }))
        .then(v => { D.entries[l.id] = v || []; }));
      jobs.push(settle("store:" + l.id, call({ cmd: "store_list", doc: l.id }))
        .then(v => { D.store[l.id] = v || []; }));
      jobs.push(settle("sessions:" + l.id, loadSessions(l.id)));
    }
    for (const r of docsOf("registry")) {
      jobs.push(settle("registry:" + r.id, api(q("/api/v1/compounds", { doc: r.id, year })))
        .then(v => { D.compounds[r.id] = v || []; }));
    }
    for (const w of docsOf("wishes")) {
      jobs.push(settle("wishes:" + w.id, api(q("/api/v1/wishes", { doc: w.id })))
        .then(v => { D.wishes[w.id] = v || []; }));
    }
    for (const v of docsOf("volunteers")) {
      jobs.push(settle("roster:" + v.id, api(q("/api/v1/volunteers", { doc: v.id })))
        .then(rows => { D.rosters[v.id] = rows || []; }));
    }
    D.rotas = {}; D.activities = {};
    for (const v of docsOf("volunteers")) {
      // Rotas are in the registry's zone (a registry's header zone is the district default).
      const from = nowIn("Asia/Shanghai").date;
      jobs.push(settle("rota:" + v.id, call({ cmd: "rota", doc: v.id, from, to: addDays(from, 6) }))
        .then(rows => { D.rotas[v.id] = rows || []; }));
    }
    for (const r of D.resources.filter(r => r.kind !== "kitchen")) {
      jobs.push(settle("activities:" + r.id, call({ cmd: "activities", doc: r.id }))
        .then(rows => { D.activities[r.id] = rows || []; }));
    }
    await Promise.all(jobs);
    $("banner").hidden = true;
    $("auth").hidden = true;
    $("app").hidden = false;
    UI.updated = nowIn().time.slice(11);
    render();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showAuth(token ? "auth_wrong" : "auth_missing", e.message);
    else if (e instanceof ApiError && e.status === 0) showDown();
    else showBanner(explain(e));
  } finally {
    loading = false;
    if (again) { again = false; scheduleLoad(); }
  }
}

// ---- live updates ------------------------------------------------------------------------
// The node pushes its events (GET /api/v1/events, server-sent events behind the same
// token, read with fetch so the token travels in the Authorization header); the page
// reloads what it shows when one arrives. No polling: a lost stream is shown and
// reconnects by itself, and reloads once it is back (events may have been missed).

let again = false;      // an event arrived during a load: load once more after it
let pendingLoad = null; // debounce timer
let liveState = "connecting";

function scheduleLoad() {
  if (loading) { again = true; return; }
  if (!$("modal").hidden) { again = true; return; }  // not under an open dialog
  clearTimeout(pendingLoad);
  pendingLoad = setTimeout(() => load(), 150);
}

function setLive(state) {
  liveState = state;
  const el = $("live");
  el.dataset.state = state;
  el.textContent = t(state === "on" ? "live_on" : "live_off");
  el.hidden = state === "connecting";
}

async function listen() {
  let wait = 500;
  for (;;) {
    if (!token) { await new Promise(r => setTimeout(r, 1000)); continue; }
    try {
      const r = await fetch("/api/v1/events", {
        headers: { Authorization: "Bearer " + token }, cache: "no-store",
      });
      if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
      const reconnected = liveState === "off" && UI.updated;
      setLive("on");
      wait = 500;
      if (reconnected) scheduleLoad();
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split("\n").filter(l => l.startsWith("data:"))
            .map(l => l.slice(5).trim()).join("\n");
          if (data) onEvent(JSON.parse(data));
        }
      }
    } catch (e) {
      // fall through: shown as disconnected, retried below
    }
    setLive("off");
    await new Promise(r => setTimeout(r, wait));
    wait = Math.min(wait * 2, 10000);
  }
}

function onEvent(ev) {
  if (ev.kind === "pull_ended" || ev.kind === "peer_connected") return;  // nothing shown changed
  scheduleLoad();
}

function showAuth(why, detail) {
  $("app").hidden = true;
  $("banner").hidden = true;
  $("toast").hidden = true;
  $("who").replaceChildren();
  UI.updated = null;
  $("updated").textContent = "";
  $("auth").hidden = false;
  $("auth").dataset.why = why;
  $("auth-why").textContent = t(why) + (detail ? ` (${detail})` : "");
}

function showDown() {
  const b = $("banner");
  b.replaceChildren(t("daemon_down"), " ", h("button", { type: "button", onclick: () => load() }, t("retry")));
  b.dataset.kind = "down";
  b.hidden = false;
}

function showBanner(text) {
  const b = $("banner");
  b.replaceChildren(text);
  b.dataset.kind = "error";
  b.hidden = false;
}

let toastTimer = null;
function toast(text, isError) {
  const el = $("toast");
  el.textContent = text;
  el.className = "toast" + (isError ? " error" : "");
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, isError ? 8000 : 3500);
}

// ---- rendering -------------------------------------------------------------------------

function applyStatic() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = (lang === "zh" ? "邻里 linli · " : "linli · ") + t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang").textContent = t("lang_switch");
  $("updated").textContent = UI.updated ? t("updated", UI.updated) : "";
  if (liveState !== "connecting") $("live").textContent = t(liveState === "on" ? "live_on" : "live_off");
  $("lang").setAttribute("lang", lang === "zh" ? "en" : "zh-CN");
  const why = $("auth").dataset.why;
  if (why && !$("auth").hidden) $("auth-why").textContent = t(why);
}

function render() {
  applyStatic();
  const st = D.status;
  if (st) {
    $("who").replaceChildren(t("org") + " ", h("b", {}, st.org), " · " + t("node") + " ", h("span", { class: "mono", title: st.node }, shortId(st.node)));
    $("version").textContent = "linli " + st.version;
  }
  // A node on a training clock: a banner with the simulated time, never mistaken for real time.
  const training = !!st && st.clock === "training";
  $("training").hidden = !training;
  $("training").textContent = training ? t("training_clock", st.time) : "";
  try { renderCertificate(); } catch (e) { $("certificate").replaceChildren(errorBox(e)); }
  for (const [id, fn] of [["rooms", renderRooms], ["kitchens", renderKitchens], ["ledgers", renderLedgers],
    ["registries", renderRegistries], ["wishes", renderWishes], ["rosters", renderRosters], ["sync", renderSync]]) {
    try { $(id).replaceChildren(...[fn()].flat().filter(k => k != null)); } catch (e) { $(id).replaceChildren(errorBox(e)); }
  }
  // Role-aware tabs, the daily tasks' forms, print buttons (forms.js).
  if (typeof renderFormsPart === "function") {
    try { renderFormsPart(); } catch (e) { $("tasks").replaceChildren(errorBox(e)); }
  }
}

// rooms ------------------------------------------------------------------------------------

function renderRooms() {
  const rooms = D.resources.filter(r => r.kind !== "kitchen");
  if (D.errors.resources) return errorBox(D.errors.resources);
  if (!rooms.length) return empty("no_rooms");
  return rooms.map(room => {
    const err = D.errors["bookings:" + room.id];
    const list = D.bookings[room.id] || [];
    const now = nowIn(room.zone);
    const monday = UI.week[room.id] || mondayOf(now.date);
    const days = [...Array(7).keys()].map(i => addDays(monday, i));
    const owner = room.owner === myOrg();
    const weekNav = h("div", { class: "row" },
      h("button", { type: "button", "data-nav": "prev", onclick: () => { UI.week[room.id] = addDays(monday, -7); render(); } }, t("prev_week")),
      h("button", { type: "button", "data-nav": "this", onclick: () => { UI.week[room.id] = null; render(); } }, t("this_week")),
      h("button", { type: "button", "data-nav": "next", onclick: () => { UI.week[room.id] = addDays(monday, 7); render(); } }, t("next_week")),
      h("b", { class: "week-label" }, t("week", days[0], days[6])),
      h("span", { class: "spacer" }),
      h("div", { class: "legend" }, h("span", { class: "l-tentative" }, t("legend_tentative")),
        h("span", { class: "l-confirmed" }, t("legend_confirmed")), h("span", { class: "l-revoked" }, t("legend_revoked"))));
    const upcoming = list.filter(b => b.end.slice(0, 10) >= now.date).sort((a, b) => a.start.localeCompare(b.start));
    return h("div", { class: "sub room", "data-doc": room.id },
      h("h3", {}, room.name),
      h("p", { class: "muted" }, [t("capacity", room.capacity), t("opening", room.opening), t("owner", room.owner)].join(" · ")),
      err ? errorBox(err) : null,
      weekNav,
      h("div", { class: "grid2" },
        calendar(room, list, days, now.date),
        h("div", {}, h("p", { class: "chart-title" }, t("occupancy")), occupancyChart(room, list, days))),
      h("h3", {}, t("upcoming")),
      upcoming.length ? table([
        { label: "th_time", cell: b => b.start.slice(0, 10) + " " + hm(b.start) + "–" + hm(b.end) },
        { label: "th_purpose", cell: b => b.purpose },
        { label: "th_booker", cell: b => b.booker },
        { label: "th_org", cell: b => b.organisation || "" },
        { label: "th_people", num: true, cell: b => b.attendees },
        { label: "th_status", cell: b => [badge("st_", b.status), b.reason ? h("div", { class: "muted" }, b.reason) : null] },
        { label: "th_actions", cls: "actions", cell: b => actions(room, b, owner) },
      ], upcoming, b => ({ "data-booking": b.id, "data-status": b.status })) : empty("no_bookings"),
      ...(D.activities[room.id] || []).map(signupList));
  });
}

/** An activity on a booking with its places, waitlist and cancellations. */
function signupList(a) {
  const status = r => r.status === "waitlisted" ? t("su_waitlisted", r.position) : t("su_" + r.status);
  return h("div", { class: "activity", "data-activity": a.booking },
    h("h4", {}, t("signups_title", a.title)),
    h("p", { class: "muted" }, t("signups_places", a.placed, a.capacity, localTime(a.deadline))),
    a.signups.length ? table([
      { label: "th_participant", cell: r => h("span", { class: "mono" }, r.participant) },
      { label: "th_kind", cell: r => t("pkind_" + r.kind) },
      { label: "th_time", cell: r => localTime(r.at) },
      { label: "th_status", cell: r => h("span", { class: "badge su-" + r.status }, status(r)) },
    ], a.signups, r => ({ "data-participant": r.participant, "data-status": r.status })) : empty("no_signups"));
}

function clockOf(iso) {
  return new Date(iso).toLocaleTimeString("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
}

/** A registry's rota occurrences of the coming week; gaps highlighted. */
function rotaTable(doc) {
  const err = D.errors["rota:" + doc];
  const rows = D.rotas[doc] || [];
  return h("div", { class: "rota", "data-rota-doc": doc },
    h("h4", {}, t("rota_title")),
    err ? errorBox(err) : null,
    rows.length ? table([
      { label: "th_date", cell: r => r.date },
      { label: "th_shift", cell: r => clockOf(r.start) + "–" + clockOf(r.end) },
      { label: "th_rota", cell: r => r.title },
      { label: "th_needed", num: true, cell: r => r.needed },
      { label: "th_assigned", cell: r => h("span", { class: "mono" }, r.assigned.join(" ")) },
      { label: "th_missing", cell: r => r.missing ? h("span", { class: "badge gap" }, t("rota_gap", r.missing)) : t("rota_ok") },
    ], rows, r => ({ class: r.missing ? "gap" : null, "data-gap": r.missing ? "1" : "0", "data-rota": r.rota, "data-date": r.date, "data-shift": r.shift }))
      : empty("no_rota"));
}

function actions(room, b, owner) {
  const btn = (action, cls) => h("button", {
    type: "button", class: "small " + cls, "data-action": action, "data-booking": b.id,
    disabled: !owner, title: owner ? null : t("not_owner"),
    onclick: () => decide(room, b, action),
  }, t(action));
  if (["tentative", "waitlisted", "contested"].includes(b.status)) return [btn("confirm", "primary"), btn("reject", "")];
  if (b.status === "confirmed") return btn("revoke", "");
  return null;
}

function calendar(room, list, days, today) {
  let [open, close] = openingHours(room.opening);
  const inWeek = list.filter(b => days.includes(b.start.slice(0, 10)));
  for (const b of inWeek) {
    open = Math.min(open, Math.floor(minutesOf(b.start) / 60));
    const endMin = b.end.slice(0, 10) === b.start.slice(0, 10) ? minutesOf(b.end) : 24 * 60;
    close = Math.max(close, Math.ceil(endMin / 60));
  }
  const span = (close - open) * 60;
  const hourPx = 40;
  const height = (close - open) * hourPx;
  const grid = h("div", { class: "cal", "data-doc": room.id });
  grid.append(h("div", { class: "cal-head" }));
  days.forEach((d, i) => grid.append(h("div", { class: "cal-head" + (d === today ? " today" : "") },
    t("days")[i], h("br"), d.slice(5).replace("-", "/"))));
  const gutter = h("div", { class: "cal-gutter" });
  gutter.style.height = height + "px";
  for (let hr = open + 1; hr < close; hr++) {
    const l = h("span", { class: "cal-hour" }, String(hr).padStart(2, "0") + ":00");
    l.style.top = (hr - open) * hourPx + "px";
    gutter.append(l);
  }
  grid.append(gutter);
  for (const d of days) {
    const col = h("div", { class: "cal-day" + (d === today ? " today" : ""), "data-date": d });
    col.style.height = height + "px";
    col.style.backgroundSize = `100% ${hourPx}px`;
    for (const b of inWeek.filter(b => b.start.slice(0, 10) === d)) {
      const start = minutesOf(b.start) - open * 60;
      const end = (b.end.slice(0, 10) === d ? minutesOf(b.end) : 24 * 60) - open * 60;
      const el = h("div", {
        class: "bk st-" + b.status, "data-booking": b.id, "data-status": b.status,
        title: `${hm(b.start)}–${hm(b.end)} ${b.purpose} · ${t("booker", b.booker)} · ${label("st_", b.status)}${b.reason ? " · " + b.reason : ""}`,
      }, h("b", {}, `${hm(b.start)}–${hm(b.end)} ${b.purpose}`), t("booker", b.booker), " · ", label("st_", b.status));
      el.style.top = (start / span) * height + "px";
      el.style.height = Math.max(((end - start) / span) * height, 18) + "px";
      col.append(el);
    }
    grid.append(col);
  }
  return grid;
}

function occupancyChart(room, list, days) {
  const [open, close] = openingHours(room.opening);
  const openH = close - open;
  const hours = days.map(d => {
    let conf = 0, tent = 0;
    for (const b of list) {
      if (b.start.slice(0, 10) !== d) continue;
      const endMin = b.end.slice(0, 10) === d ? minutesOf(b.end) : 24 * 60;
      const len = Math.max(0, endMin - minutesOf(b.start)) / 60;
      if (b.status === "confirmed") conf += len;
      else if (["tentative", "waitlisted", "contested"].includes(b.status)) tent += len;
    }
    return { conf, tent };
  });
  const W = 340, H = 200, L = 28, B = 34, T = 12;
  const max = Math.max(openH, ...hours.map(x => x.conf + x.tent), 1);
  const y = v => T + (H - T - B) * (1 - v / max);
  const bw = (W - L - 8) / 7;
  const svg = s("svg", { class: "chart occupancy", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("occupancy") });
  for (const v of [0, Math.round(max / 2), Math.round(max)]) {
    svg.append(s("line", { class: "axis", x1: L, x2: W - 4, y1: y(v), y2: y(v) }),
      s("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  hours.forEach((x, i) => {
    const x0 = L + 4 + i * bw;
    const pct = openH ? Math.round((x.conf / openH) * 100) : 0;
    svg.append(
      s("rect", { x: x0, width: bw - 8, y: y(x.conf), height: y(0) - y(x.conf), rx: 2, fill: "#2da44e" },
        s("title", {}, `${t("confirmed_h")} ${x.conf.toFixed(1)} h`)),
      s("rect", { x: x0, width: bw - 8, y: y(x.conf + x.tent), height: y(x.conf) - y(x.conf + x.tent), rx: 2, fill: "#e3b341" },
        s("title", {}, `${t("tentative_h")} ${x.tent.toFixed(1)} h`)),
      s("text", { x: x0 + (bw - 8) / 2, y: H - B + 14, "text-anchor": "middle" }, t("days")[i]),
      s("text", { x: x0 + (bw - 8) / 2, y: H - B + 28, "text-anchor": "middle" }, pct + "%"));
  });
  return svg;
}

async function decide(room, b, action) {
  const req = { cmd: "booking_" + action, doc: room.id, booking: b.id };
  if (action !== "confirm") {
    const reason = await askReason(t(action + "_title"), `${b.start} ${b.purpose} · ${t("booker", b.booker)}`);
    if (reason === null) return;
    req.reason = reason;
  }
  try {
    await call(req);
    toast(t("done_" + action));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { showAuth("auth_wrong", e.message); return; }
    toast(explain(e), true);
  }
  await load();
}

function askReason(title, text) {
  return new Promise(resolve => {
    const modal = $("modal"), input = $("modal-reason"), ok = $("modal-ok"), cancel = $("modal-cancel");
    $("modal-title").textContent = title;
    $("modal-text").textContent = text;
    input.value = "";
    ok.disabled = true;
    modal.hidden = false;
    input.focus();
    const done = v => {
      modal.hidden = true;
      input.oninput = ok.onclick = cancel.onclick = input.onkeydown = null;
      resolve(v);
      if (again) { again = false; scheduleLoad(); }  // what changed while the dialog was open
    };
    input.oninput = () => { ok.disabled = !input.value.trim(); };
    input.onkeydown = e => { if (e.key === "Escape") done(null); };
    ok.onclick = () => { if (input.value.trim()) done(input.value.trim()); };
    cancel.onclick = () => done(null);
  });
}

// kitchen ----------------------------------------------------------------------------------

function renderKitchens() {
  const kitchens = D.resources.filter(r => r.kind === "kitchen");
  if (!kitchens.length) return empty("no_kitchens");
  return kitchens.map(k => {
    const byDay = D.kitchen[k.id] || {};
    const dates = Object.keys(byDay).sort();
    const now = nowIn(k.zone);
    const sel = UI.day[k.id] && byDay[UI.day[k.id]] ? UI.day[k.id] : dates[0];
    const day = byDay[sel];
    const err = D.errors["kitchen:" + k.id];
    return h("div", { class: "sub kitchen", "data-doc": k.id },
      h("h3", {}, k.name),
      h("p", { class: "muted" }, [t("opening", k.opening), t("owner", k.owner)].join(" · ")),
      err ? errorBox(err) : null,
      h("div", { class: "grid2" },
        h("div", {},
          h("div", { class: "daytabs" }, dates.map(d => h("button", {
            type: "button", class: d === sel ? "on" : "", "data-date": d,
            onclick: () => { UI.day[k.id] = d; render(); },
          }, d.slice(5)))),
          day ? kitchenDay(day, now) : null),
        h("div", {}, h("p", { class: "chart-title" }, t("orders_chart")), kitchenChart(dates, byDay))));
  });
}

function kitchenDay(day, now) {
  const closed = now.time >= day.cutoff;
  return h("div", { class: "kitchen-day", "data-date": day.date },
    h("div", { class: "row" },
      h("b", {}, t("service_day", day.date, label("service_", day.service))),
      h("span", { class: "cutoff" }, t("cutoff", day.cutoff)),
      h("span", { class: "badge " + (closed ? "st-revoked" : "st-ok") }, t(closed ? "cutoff_passed" : "cutoff_open"))),
    h("p", { class: "portions" }, t("portions_vs", day.accepted_portions, day.waiting_portions, day.capacity)),
    day.orders.length ? table([
      { label: "th_household", cell: o => o.household },
      { label: "th_portions", num: true, cell: o => o.portions },
      { label: "th_items", cell: o => o.items },
      { label: "th_placed", cell: o => o.placed },
      { label: "th_status", cell: o => badge("st_", o.status) },
    ], day.orders, o => ({ "data-order": o.id })) : empty("no_orders"));
}

function kitchenChart(dates, byDay) {
  const W = 340, H = 200, L = 34, B = 22, T = 12;
  const cap = Math.max(1, ...dates.map(d => (byDay[d] ? byDay[d].capacity : 0)));
  const max = Math.max(cap, ...dates.map(d => byDay[d] ? byDay[d].accepted_portions + byDay[d].waiting_portions : 0));
  const y = v => T + (H - T - B) * (1 - v / max);
  const bw = (W - L - 8) / Math.max(dates.length, 1);
  const svg = s("svg", { class: "chart orders", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("orders_chart") });
  for (const v of [0, Math.round(max / 2), max]) {
    svg.append(s("line", { class: "axis", x1: L, x2: W - 4, y1: y(v), y2: y(v) }),
      s("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  dates.forEach((d, i) => {
    const day = byDay[d];
    const x0 = L + 4 + i * bw;
    const acc = day ? day.accepted_portions : 0, wait = day ? day.waiting_portions : 0;
    svg.append(
      s("rect", { x: x0, width: bw - 8, y: y(acc), height: y(0) - y(acc), rx: 2, fill: "#2da44e" }, s("title", {}, `${t("accepted_p")} ${acc}`)),
      s("rect", { x: x0, width: bw - 8, y: y(acc + wait), height: y(acc) - y(acc + wait), rx: 2, fill: "#e3b341" }, s("title", {}, `${t("waiting_p")} ${wait}`)),
      s("text", { x: x0 + (bw - 8) / 2, y: H - B + 14, "text-anchor": "middle" }, d.slice(5)));
    if (day) {
      svg.append(s("line", { class: "cap", x1: x0 - 3, x2: x0 + bw - 5, y1: y(day.capacity), y2: y(day.capacity) },
        s("title", {}, `${t("cap_line")} ${day.capacity}`)));
    }
  });
  return svg;
}

// volunteers -------------------------------------------------------------------------------

function stars(n) {
  const on = Math.max(0, Math.min(5, Number(n) || 0));
  return h("span", { class: "stars", title: t("stars_n", on), "data-stars": on }, "★".repeat(on), h("span", { class: "off" }, "★".repeat(5 - on)));
}

function renderLedgers() {
  const ledgers = docsOf("ledger");
  if (!ledgers.length) return empty("no_ledgers");
  return ledgers.map(l => {
    const err = D.errors["ledger:" + l.id];
    const entries = D.entries[l.id] || [];
    const teams = [...new Set(entries.filter(e => e.type === "service" && e.team).map(e => e.team))].sort();
    const team = UI.team[l.id] || "";
    const board = D.boards[l.id] || [];
    const sel = h("select", {
      "data-team-of": l.id,
      onchange: ev => { UI.team[l.id] = ev.target.value; load(); },
    }, h("option", { value: "" }, t("all_teams")), teams.map(tm => h("option", { value: tm, selected: tm === team }, tm)));
    return h("div", { class: "sub ledger", "data-doc": l.id },
      h("h3", {}, t("ledger_of", l.community || l.owner, l.year)),
      err ? errorBox(err) : null,
      h("div", { class: "row" }, h("label", {}, t("team"), " ", sel)),
      h("div", { class: "grid2" },
        board.length ? table([
          { label: "th_rank", num: true, cell: r => r.rank },
          { label: "th_volunteer", cell: r => h("button", {
            type: "button", class: "link", "data-statement": r.volunteer, title: t("statement_open"),
            onclick: () => openStatement(l.id, r.volunteer),
          }, r.volunteer) },
          { label: "th_points", num: true, cell: r => r.earned },
          { label: "th_hours", num: true, cell: r => r.hours },
          { label: "th_stars", cell: r => stars(r.stars) },
          { label: "cert_btn", cell: r => r.volunteer.split(/[@:]/)[0] === myOrg()
            ? h("button", { type: "button", class: "small", "data-cert": r.volunteer, onclick: () => showCertificate(r.volunteer) }, t("cert_btn"))
            : "" },
        ], board, r => ({ "data-volunteer": r.volunteer })) : empty("no_volunteers"),
        h("div", {}, h("p", { class: "chart-title" }, t("points_month")), monthChart(entries, team))),
      storeTable(l),
      renderSessions(l),
      UI.statement && UI.statement.doc === l.id ? statement(l, entries) : null);
  });
}

// A volunteer's statement (志愿服务对账单): the entries of one ledger that name the
// volunteer, with the balance linli-core computes across the ledgers held here; printable.
function openStatement(doc, volunteer) {
  UI.statement = { doc, volunteer, balance: null };
  call({ cmd: "balance", volunteer })
    .then(b => { if (UI.statement && UI.statement.volunteer === volunteer) { UI.statement.balance = b; render(); } })
    .catch(e => { if (UI.statement) { UI.statement.balance = { error: explain(e) }; render(); } });
  render();
}

function statement(l, entries) {
  const v = UI.statement.volunteer;
  const mine = entries.filter(e => e.volunteer === v);
  const b = UI.statement.balance;
  const what = e => e.type === "service" ? e.activity : e.type === "redemption" ? `${e.item} · ${e.outlet}` : e.reason;
  return h("div", { class: "statement", "data-volunteer": v },
    h("div", { class: "row" },
      h("h4", {}, t("statement_title", v, l.year)),
      h("button", { type: "button", class: "small", "data-print-statement": "", onclick: () => printSection("statement") }, t("print")),
      h("button", { type: "button", class: "small", onclick: () => { UI.statement = null; render(); } }, t("close"))),
    b && b.error ? h("p", { class: "error-box" }, b.error) :
      h("p", { class: "balance" }, b ? t("statement_balance", b.balance) : t("loading")),
    mine.length ? table([
      { label: "th_date", cell: e => e.date || (e.at || "").slice(0, 10) },
      { label: "th_type", cell: e => t("entry_" + e.type) },
      { label: "th_what", cell: what },
      { label: "th_hours", num: true, cell: e => e.hours || "" },
      // A declined entry counts nowhere (the balance above leaves it out): say so here.
      { label: "th_points", num: true, cell: e => e.declined
        ? h("span", { class: "declined", "data-declined": "" }, t("entry_declined_n", e.declined)) : e.points },
      { label: "th_issuer", cell: e => e.issuer },
    ], mine, e => ({ "data-entry": e.id })) : empty("statement_none"));
}

/** A ledger's points store: items with cost and stock (a store redemption takes one). */
function storeTable(l) {
  const err = D.errors["store:" + l.id];
  const items = D.store[l.id] || [];
  return h("div", { class: "store", "data-store": l.id },
    h("h4", {}, t("store_h")),
    err ? errorBox(err) : null,
    items.length ? table([
      { label: "th_item", cell: r => r.name },
      { label: "th_cost", num: true, cell: r => r.cost },
      { label: "th_stock", num: true, cell: r => r.stock > 0 ? String(r.stock) : h("span", { class: "badge st-refused" }, String(r.stock), " ", t("out_of_stock")) },
      { label: "th_redeemed", num: true, cell: r => r.redeemed },
    ], items, r => ({ "data-item": r.id, "data-stock": r.stock })) : empty("no_store"));
}

/** Shows a volunteer's star certificate in its own printable section. */
async function showCertificate(volunteer) {
  try { D.cert = await call({ cmd: "certificate", volunteer }); } catch (e) { D.cert = { error: e }; }
  renderCertificate();
  $("sec-certificate").scrollIntoView();
}

function renderCertificate() {
  const sec = $("sec-certificate");
  if (!sec) return;
  const c = D.cert;
  sec.hidden = !c;
  if (!c) return;
  if (c.error) { $("certificate").replaceChildren(errorBox(c.error)); return; }
  $("certificate").replaceChildren(h("div", { class: "cert", "data-volunteer": c.volunteer },
    h("p", { class: "cert-name" }, c.name ? `${c.name} (${c.volunteer})` : c.volunteer),
    h("p", { class: "cert-stars" }, stars(c.stars), " ", t("stars_n", c.stars)),
    h("dl", { class: "kv" },
      h("dt", {}, t("cert_earned")), h("dd", { "data-field": "earned" }, c.earned),
      h("dt", {}, t("cert_balance")), h("dd", { "data-field": "balance" }, c.balance),
      h("dt", {}, t("cert_expired")), h("dd", { "data-field": "expired" }, c.expired)),
    h("h4", {}, t("cert_hours")),
    table([
      { label: "th_year", cell: r => r.year },
      { label: "th_hours", num: true, cell: r => r.hours },
    ], c.hours, r => ({ "data-year": r.year })),
    h("p", { class: "cert-issued" }, t("cert_issued", c.issued_by), " · ", t("cert_on", c.on)),
    h("button", { type: "button", class: "small", "data-print-cert": "1", onclick: () => printSection("sec-certificate") }, t("cert_print"))));
}

// ---- check-in sessions -----------------------------------------------------------------

/** A ledger's sessions, and the current code of each open one this node opened. */
async function loadSessions(doc) {
  D.sessions = D.sessions || {};
  D.codes = D.codes || {};
  const rows = await call({ cmd: "session_list", doc });
  D.sessions[doc] = rows || [];
  for (const s of D.sessions[doc]) {
    if (s.here && !s.closed) {
      D.codes[s.id] = await call({ cmd: "session_code", doc, session: s.id, base: location.origin });
    }
  }
}

function svgOf(text, label) {
  const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  if (svg.nodeName !== "svg") return "";
  const qr = document.importNode(svg, true);
  qr.setAttribute("class", "qr");
  qr.setAttribute("role", "img");
  qr.setAttribute("aria-label", label);
  return qr;
}

function renderSessions(l) {
  const rows = (D.sessions || {})[l.id] || [];
  const err = D.errors["sessions:" + l.id];
  const field = (name, label, type) => h("label", {}, t(label), " ",
    h("input", { name, type: type || "text", required: true, autocomplete: "off" }));
  const form = h("form", {
    class: "session-form", "data-open-session": l.id,
    onsubmit: async ev => {
      ev.preventDefault();
      const f = ev.target;
      try {
        await call({
          cmd: "session_open", doc: l.id, activity: f.activity.value.trim(),
          place: f.place.value.trim(), start: f.start.value, end: f.end.value,
        });
        load();
      } catch (e) { f.append(errorBox(e)); }
    },
  }, field("activity", "session_activity"), field("place", "session_place"),
  field("start", "session_start", "datetime-local"), field("end", "session_end", "datetime-local"),
  h("button", { type: "submit" }, t("session_open")));
  const one = s => {
    const c = (D.codes || {})[s.id];
    return h("div", { class: "session", "data-session": s.id },
      h("h4", {}, `${s.activity} · ${s.place} · ${s.start} – ${s.end.slice(11)}`,
        s.closed ? h("span", { class: "muted" }, " (" + t("session_closed") + ")") : null),
      c ? h("div", { class: "session-live" },
        h("p", {}, t("session_code"), " ", h("strong", { class: "session-code", "data-code": c.code }, c.code),
          " ", h("span", { class: "muted" }, t("session_changes", c.changes_at.slice(11)))),
        c.qr_svg ? svgOf(c.qr_svg, t("session_qr")) : null,
        h("p", {}, t("session_page"), " ", h("a", { href: c.url || c.page, target: "_blank", rel: "noopener", class: "session-url" }, c.url || c.page)),
        h("button", {
          type: "button", "data-close-session": s.id,
          onclick: async () => {
            try { await call({ cmd: "session_close", doc: l.id, session: s.id }); load(); }
            catch (e) { alert(explain(e)); }
          },
        }, t("session_close"))) : null,
      h("p", { class: "muted" }, t("session_checked", s.checkins.length)),
      s.checkins.length ? table([
        { label: "th_volunteer", cell: r => r.volunteer },
        { label: "th_checked_in", cell: r => r.checked_in.slice(11) },
        { label: "th_checked_out", cell: r => (r.checked_out || "").slice(11) },
      ], s.checkins, r => ({ "data-checkin": r.volunteer })) : null);
  };
  return h("div", { class: "sessions" },
    h("h4", {}, t("sessions")),
    err ? errorBox(err) : null,
    rows.length ? rows.map(one) : empty("no_sessions"),
    form);
}

function monthChart(entries, team) {
  const months = Array(12).fill(0);
  for (const e of entries) {
    if (e.type !== "service" || (team && e.team !== team) || !e.date) continue;
    months[Number(e.date.slice(5, 7)) - 1] += Number(e.points) || 0;
  }
  const W = 340, H = 190, L = 30, B = 22, T = 12;
  const max = Math.max(1, ...months);
  const y = v => T + (H - T - B) * (1 - v / max);
  const bw = (W - L - 6) / 12;
  const svg = s("svg", { class: "chart points", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("points_month") });
  for (const v of [0, max / 2, max]) {
    svg.append(s("line", { class: "axis", x1: L, x2: W - 4, y1: y(v), y2: y(v) }),
      s("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  months.forEach((v, i) => {
    const x0 = L + 3 + i * bw;
    svg.append(
      s("rect", { x: x0, width: bw - 5, y: y(v), height: y(0) - y(v), rx: 2, fill: "#0969da" }, s("title", {}, `${t("months")[i]}: ${v.toFixed(2)}`)),
      s("text", { x: x0 + (bw - 5) / 2, y: H - B + 14, "text-anchor": "middle" }, lang === "zh" ? String(i + 1) : t("months")[i].slice(0, 1)));
  });
  return svg;
}

// compounds --------------------------------------------------------------------------------

function renderRegistries() {
  const regs = docsOf("registry");
  if (!regs.length) return empty("no_registries");
  const year = UI.year || Number(nowIn().date.slice(0, 4));
  const yearSel = h("select", { id: "year", onchange: ev => { UI.year = Number(ev.target.value); load(); } },
    [0, 1, 2].map(i => h("option", { value: year - i, selected: i === 0 }, String(year - i))));
  const out = [h("div", { class: "row" }, h("label", {}, t("year"), " ", yearSel))];
  for (const r of regs) {
    const err = D.errors["registry:" + r.id];
    const rows = D.compounds[r.id] || [];
    out.push(h("div", { class: "sub registry", "data-doc": r.id },
      h("h3", {}, r.title || r.community || r.owner),
      err ? errorBox(err) : null,
      rows.length ? table([
        { label: "th_compound", cell: c => c.name },
        { label: "th_address", cell: c => c.address },
        { label: "th_households", num: true, cell: c => c.households },
        { label: "th_mode", cell: c => label("mode_", c.mode) },
        { label: "th_manager", cell: c => manager(c.manager) },
        { label: "th_score", cell: c => score(c) },
        { label: "th_flag", cell: c => assessment(c) },
      ], rows, c => ({ "data-compound": c.id, "data-below": c.below_threshold ? "yes" : "no" })) : empty("no_registries")));
  }
  return out;
}

function manager(m) {
  if (!m) return h("span", { class: "muted" }, t("vacant"));
  if (m.startsWith("CONTESTED: ")) return [h("span", { class: "badge st-contested" }, t("contested")), " ", m.slice(11)];
  return m;
}

function score(c) {
  if (c.score === null || c.score === undefined) return h("span", { class: "muted" }, t("no_score"));
  const bar = h("span", { class: "scorebar" + (c.below_threshold ? " low" : "") }, h("i"));
  bar.firstChild.style.width = Math.max(0, Math.min(100, c.score)) + "%";
  return [h("b", { class: "score" }, c.score.toFixed(1)), bar];
}

function assessment(c) {
  const out = [];
  if (c.score !== null && c.score !== undefined) {
    out.push(c.below_threshold ? h("span", { class: "badge st-bad", "data-flag": "below" }, t("below"))
      : h("span", { class: "badge st-ok", "data-flag": "passed" }, t("passed")));
  }
  if (!c.complete) out.push(" ", h("span", { class: "muted" }, t("incomplete")));
  return out;
}

// wishes -----------------------------------------------------------------------------------

const WISH_ORDER = ["published", "claimed", "assigned", "received", "routed", "fulfilled", "confirmed", "resolved", "declined", "withdrawn"];

function renderWishes() {
  const docs = docsOf("wishes");
  if (!docs.length) return empty("no_wishes_docs");
  return docs.map(w => {
    const err = D.errors["wishes:" + w.id];
    const rows = D.wishes[w.id] || [];
    const groups = {};
    for (const r of rows) (groups[r.status] = groups[r.status] || []).push(r);
    const order = Object.keys(groups).sort((a, b) => WISH_ORDER.indexOf(a) - WISH_ORDER.indexOf(b));
    const wlabel = st => st === "confirmed" ? t("st_wish_confirmed") : label("st_", st);
    return h("div", { class: "sub wishes", "data-doc": w.id },
      h("h3", {}, w.title || w.community || w.owner),
      err ? errorBox(err) : null,
      rows.length ? [
        h("div", { class: "chips" }, order.map(st => h("span", { class: "badge st-" + st }, `${wlabel(st)} ${groups[st].length}`))),
        order.map(st => h("div", { class: "wish-group", "data-status": st },
          h("h3", {}, wlabel(st)),
          table([
            { label: "th_title", cell: r => r.title },
            { label: "th_kind", cell: r => label("kind_", r.kind) },
            { label: "th_category", cell: r => r.category },
            { label: "th_by", cell: r => r.by },
            { label: "th_claims", cell: r => r.claims },
          ], groups[st], r => ({ "data-wish": r.id })))),
      ] : empty("no_wishes"));
  });
}

// volunteer registry -----------------------------------------------------------------------

function renderRosters() {
  const docs = docsOf("volunteers");
  if (!docs.length) return empty("no_roster_docs");
  // Roster import and reports (forms.js).
  const reports = typeof rosterReports === "function" ? rosterReports() : null;
  return [reports, ...docs.map(v => {
    const err = D.errors["roster:" + v.id];
    const rows = D.rosters[v.id] || [];
    return h("div", { class: "sub roster", "data-doc": v.id },
      h("h3", {}, v.title || v.community || v.owner),
      err ? errorBox(err) : null,
      rows.length ? table([
        { label: "th_volunteer", cell: r => h("span", { class: "mono" }, r.id) },
        { label: "th_name", cell: r => r.name },
        { label: "th_phone", cell: r => r.phone || "" },
        { label: "th_kind", cell: r => label("vkind_", r.kind) },
        { label: "th_unit", cell: r => r.unit || "" },
        { label: "th_teams", cell: r => r.teams },
        { label: "th_posts", cell: r => r.posts },
        { label: "th_status", cell: r => h("span", { class: "badge st-" + r.status }, label("vst_", r.status)) },
      ], rows, r => ({ "data-volunteer": r.id, title: (r.history || []).join("\n") })) : empty("no_roster"),
      typeof rosterImport === "function" ? rosterImport(v.id) : null,
      rotaTable(v.id));
  })];
}

// sync -------------------------------------------------------------------------------------

function renderSync() {
  const st = D.status;
  if (!st) return [];
  const dc = st.documents || {};
  const net = st.network;
  const kv = (k, v, attrs) => [h("dt", {}, t(k)), h("dd", attrs || {}, v)];
  const summary = h("dl", { class: "kv" },
    kv("org", st.org), kv("node", h("span", { class: "mono" }, st.node)),
    kv("documents", t("docs_summary", dc.registry || 0, dc.ledger || 0, dc.resource || 0, dc.wishes || 0, dc.federation || 0)),
    kv("changes", `${st.changes} (${t("accepted")} ${st.accepted})`),
    kv("pending", String(st.pending), { "data-k": "pending" }),
    kv("rejected_n", String(st.refused), { "data-k": "refused" }),
    kv("equivocating_n", String(st.equivocating_keys || 0), { "data-k": "equivocating" }),
    kv("peers_n", String(st.peers), { "data-k": "peers" }),
    net ? kv("net_sessions", t("net_sessions_v", net.sessions_ok, net.sessions_failed, net.sessions_answered)) : kv("net_sessions", t("net_off")),
    net ? kv("net_bytes", t("net_bytes_v", bytes(net.bytes_in), bytes(net.bytes_out))) : null,
    kv("version", st.version));
  const peers = D.peers || [];
  const rejected = D.rejected || [];
  const flagged = st.equivocating || [];
  return [
    h("h3", {}, t("status_title")), summary,
    h("h3", {}, t("peers_title")),
    D.errors.peers ? errorBox(D.errors.peers) : peers.length ? table([
      { label: "org", cell: p => p.org || "" },
      { label: "node", cell: p => h("span", { class: "mono", title: p.node }, shortId(p.node)) },
      { label: "th_connected", cell: p => [h("span", { class: "dot" + (p.connected ? " on" : "") }), t(p.connected ? "yes" : "no")] },
      { label: "th_last_sync", cell: p => p.last_sync || p.last_seen || t("never") },
      { label: "th_ok_failed", num: true, cell: p => p.sessions_ok === undefined ? "" : `${p.sessions_ok} / ${p.sessions_failed}` },
      { label: "th_dropped", cell: p => p.dropped || "" },
    ], peers) : empty("no_peers"),
    flagged.length ? h("h3", {}, t("equivocating_title")) : null,
    flagged.length ? table([
      { label: "th_signer", cell: e => h("span", { class: "mono", title: e.signer }, shortId(e.signer)) },
      { label: "th_doc", cell: e => h("span", { class: "mono" }, e.doc) },
      { label: "th_seq", num: true, cell: e => String(e.seq) },
      { label: "th_kept", cell: e => h("span", { class: "mono" }, e.kept) },
      { label: "th_refused", cell: e => h("span", { class: "mono" }, (e.refused || []).join(" ")) },
    ], flagged, e => ({ "data-equivocator": e.signer })) : null,
    h("h3", {}, t("rejected_title")),
    D.errors.rejected ? errorBox(D.errors.rejected) : rejected.length ? table([
      { label: "th_received", cell: r => r.received_at },
      { label: "th_doc", cell: r => h("span", { class: "mono", title: r.doc }, shortId(r.doc)) },
      { label: "th_signer", cell: r => h("span", { class: "mono", title: r.signer }, shortId(r.signer)) },
      { label: "th_reason", cell: r => r.reason },
    ], rejected.slice().reverse()) : empty("no_rejected"),
  ];
}

// ---- invite a node ---------------------------------------------------------------------

/** An RFC 3339 time as the district's clocks show it (China Standard Time). */
function localTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { timeZone: "Asia/Shanghai", hour12: false });
}

/** The invite form (static in the page, so live reloads leave it alone). */
function wireInvite() {
  $("invite-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const out = $("invite-out");
    out.replaceChildren();
    try {
      const r = await call({
        cmd: "invite", role: $("invite-role").value,
        org: $("invite-org").value.trim(), expires: $("invite-expires").value,
      });
      const svg = new DOMParser().parseFromString(r.qr_svg, "image/svg+xml").documentElement;
      const qr = svg.nodeName === "svg" ? document.importNode(svg, true) : null;
      if (qr) {
        qr.setAttribute("class", "qr");
        qr.setAttribute("role", "img");
        qr.setAttribute("aria-label", t("invite_qr"));
      }
      out.append(
        h("p", {}, t("invite_done", r.org, t("role_" + r.role), localTime(r.expires))),
        h("pre", { class: "code", id: "invite-code" }, r.code),
        qr || "",
        h("p", { class: "muted" }, t("invite_how")));
    } catch (e) {
      out.append(errorBox(e));
    }
  });
}

// ---- start -----------------------------------------------------------------------------

function start() {
  takeToken();
  applyStatic();
  $("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("linli.lang", lang);
    if ($("app").hidden) applyStatic(); else render();
  });
  $("refresh").addEventListener("click", () => load());
  $("token-use").addEventListener("click", () => {
    const v = $("token-input").value.trim();
    if (!v) return;
    token = v;
    sessionStorage.setItem("linli.token", v);
    $("token-input").value = "";
    load();
  });
  window.addEventListener("hashchange", () => {
    if (/token=/.test(location.hash)) { takeToken(); load(); }
  });
  wireInvite();
  load();
  listen();
  // A check-in code changes every minute: while one is shown, fetch it again.
  setInterval(() => { if (!$("app").hidden && Object.keys(D.codes || {}).length) load(); }, 30000);
}

start();
