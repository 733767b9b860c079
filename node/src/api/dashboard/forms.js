// linli dashboard: the daily tasks — forms generated from the operation catalogue
// (GET /api/v1/catalogue: every operation of linli-core with its fields' JSON schemas, who
// may perform it and the documents this node's certificate lets it perform it on; the
// documents it may create). Loaded before dashboard.js, whose helpers (h, t, api, call, D,
// explain …) it uses once the page runs. A new core operation appears here without form
// code: the schema decides the inputs, linli-core decides what is valid and who may.
"use strict";

const FORM_I18N = {
  zh: {
    nav_tasks: "日常办理", tasks_pick: "选择要办理的事项：", tasks_none: "本节点的证书不允许任何操作。",
    tasks_create: "新建", kind_federation: "联邦与证书", kind_registry: "小区台账", kind_ledger: "志愿服务台账",
    kind_resource: "场地与厨房", kind_wishes: "微心愿",
    form_doc: "文档", form_submit: "提交", form_add: "＋ 添加", form_remove: "删除", form_optional: "（选填）",
    form_fill: "填写此项", form_done: "已完成：{0}", form_required: "必填：{0}", form_number: "不是数字：{0}",
    form_json: "不是有效的 JSON：{0}", form_zone: "时间按 {0} 时区", form_key: "键", form_value: "值",
    form_yes: "是", form_variant: "类型",
    err_malformed: "格式错误：{0}", err_invalid: "输入有误：{0}", err_not_found: "未找到：{0}",
    err_unauthorized: "无权办理：{0}", err_conflict: "与现有记录冲突：{0}", err_storage: "存储出错：{0}",
    print: "打印", role_street: "街道", role_community: "社区", role_unit: "共建单位", role_partner: "合作组织", role_root: "区级根节点",
    "op_resource.request": "代居民申请预约", "op_resource.confirm": "确认预约", "op_resource.reject": "拒绝预约",
    "op_resource.waitlist": "列入候补", "op_resource.revoke": "撤销预约", "op_resource.cancel": "取消预约",
    "op_resource.bar": "禁止预约", "op_resource.delegate": "委托时段", "op_resource.set_spec": "修改场地规则（开放时间、停用日期）",
    "op_resource.promote_waitlist": "候补递补", "op_resource.place_order": "代住户订餐", "op_resource.accept_order": "接受订单",
    "op_resource.refuse_order": "拒绝订单", "op_resource.mark_collected": "登记取餐", "op_resource.cancel_order": "取消订单",
    "op_registry.add_compound": "登记小区", "op_registry.update_compound": "修改小区档案", "op_registry.appoint": "选聘/解聘物业",
    "op_registry.inspect": "检查记录", "op_registry.score": "考核评分",
    "op_ledger.record_service": "登记服务时长", "op_ledger.record_services": "批量登记服务时长", "op_ledger.redeem": "积分兑换",
    "op_ledger.correct": "更正积分", "op_ledger.set_rules": "积分规则",
    "op_ledger.store_add": "积分超市上架物品", "op_ledger.store_restock": "积分超市补货", "op_ledger.redeem_item": "积分超市兑换",
    "op_wishes.claim_team": "团队认领（一名负责人）",
    "op_wishes.post": "发布心愿/服务项目", "op_wishes.claim": "认领", "op_wishes.assign": "指派认领方",
    "op_wishes.release": "释放认领", "op_wishes.advance": "推进进度（完成、验收…）",
    "op_federation.issue": "签发证书", "op_federation.revoke": "吊销证书", "op_federation.set_config": "区级设置",
    "cmd_resource_publish": "新建活动室或共享厨房", "cmd_registry_create": "新建小区台账",
    "cmd_ledger_create": "新建志愿服务台账", "cmd_wishes_create": "新建微心愿台账",
    "f_name": "名称", "f_capacity": "容纳人数", "f_kind": "类型", "f_area_m2": "面积（平方米）", "f_street": "街道",
    "f_community": "社区", "f_daily_capacity": "每日份数", "f_spec": "完整规则", "f_title": "标题", "f_year": "年度",
    "f_address": "地址", "f_households": "户数", "f_mode": "管理模式", "f_booker": "负责人", "f_contact": "联系方式",
    "f_purpose": "用途", "f_attendees": "人数", "f_alternates": "备选时段", "f_recurrence": "每周重复",
    "f_organisation": "团体", "f_slot": "时段", "f_start": "开始", "f_end": "结束", "f_reason": "原因",
    "f_booking": "预约", "f_opening": "开放时间", "f_blackout": "停用日期", "f_rules": "场地须知", "f_zone": "时区",
    "f_weekdays": "星期（1=周一…7=周日）", "f_from": "从", "f_to": "到", "f_lead_minutes": "提前预约（分钟）",
    "f_max_minutes": "最长时长（分钟）", "f_kitchen": "厨房服务", "f_volunteer": "志愿者", "f_activity": "活动/岗位",
    "f_team": "队伍", "f_date": "日期", "f_hours": "时长（小时）", "f_evidence": "凭证", "f_item": "兑换物品",
    "f_cost": "积分", "f_outlet": "兑换点", "f_category": "类别", "f_text": "内容", "f_wish": "心愿", "f_note": "备注",
    "f_compound": "小区", "f_manager": "物业/管理方", "f_marks": "评分项", "f_role": "评分方", "f_comment": "评语",
    "f_results": "检查结果", "f_who": "对象", "f_household": "住户", "f_portions": "份数", "f_items": "菜品", "f_order": "订单",
    "st_registered": "已登记", "st_under_renovation": "改造中", "st_active": "在用", "st_archived": "已归档",
    "rk_activity_room": "活动室", "rk_hall": "大厅", "rk_sports_court": "运动场", "rk_pavilion": "议事亭",
    "rk_book_bar": "书吧", "rk_kitchen": "共享厨房", "mode_other": "其他模式",
    "f_buildings": "楼栋", "f_facilities": "设施", "f_grid": "网格", "f_owners_committee": "业主委员会",
    "f_status": "状态", "f_year_built": "建成年份", "f_number": "楼号", "f_units": "单元数", "f_subject": "证书对象（密钥）",
    "f_org": "组织", "f_parent": "上级组织", "f_not_before": "生效时间", "f_not_after": "失效时间", "f_certs": "证书",
    "f_service": "餐次", "f_cutoff": "截止时间", "f_pickup": "取餐时间", "f_menu": "菜单", "f_price": "价格",
    "f_delegate": "受托方", "f_block": "时段", "f_id": "编号", "f_entry": "记录", "f_points": "积分", "f_rows": "行",
    "f_source": "来源编号", "f_stage": "阶段", "f_channel": "渠道", "f_resident": "居民", "f_minutes": "分钟",
    export_csv: "导出 CSV", csv_task: "导入服务时长（CSV 文件）", csv_file: "CSV 文件", csv_paste: "或粘贴 CSV 内容",
    csv_columns: "列：volunteer, activity, team, date, hours, evidence, id（前四列必填）",
    csv_progress: "已处理 {0} / {1} 行", csv_summary: "新记录 {0} · 已导入过 {1} · 未导入 {2}",
    csv_recorded: "已记录", csv_already: "已导入过", csv_rejected: "未导入", th_line: "行", th_outcome: "结果",
    "f_exceptions": "例外日期", "f_until": "截止", "f_every_weeks": "每隔几周", "f_claim": "认领",
  },
  en: {
    nav_tasks: "Daily tasks", tasks_pick: "Choose a task:", tasks_none: "This node's certificate allows no operation.",
    tasks_create: "New", kind_federation: "Federation and certificates", kind_registry: "Compound registry",
    kind_ledger: "Service ledger", kind_resource: "Rooms and kitchens", kind_wishes: "Micro-wishes",
    form_doc: "Document", form_submit: "Submit", form_add: "+ Add", form_remove: "Remove", form_optional: " (optional)",
    form_fill: "fill in", form_done: "Done: {0}", form_required: "Required: {0}", form_number: "Not a number: {0}",
    form_json: "Not valid JSON: {0}", form_zone: "times in {0}", form_key: "key", form_value: "value",
    form_yes: "yes", form_variant: "kind",
    err_malformed: "Malformed: {0}", err_invalid: "Invalid: {0}", err_not_found: "Not found: {0}",
    err_unauthorized: "Not allowed: {0}", err_conflict: "Conflicts with existing records: {0}", err_storage: "Storage error: {0}",
    export_csv: "Export CSV", csv_task: "Import service hours (CSV file)", csv_file: "CSV file", csv_paste: "or paste the CSV",
    csv_columns: "columns: volunteer, activity, team, date, hours, evidence, id (the first four required)",
    csv_progress: "{0} of {1} rows done", csv_summary: "{0} recorded · {1} imported before · {2} not imported",
    csv_recorded: "recorded", csv_already: "imported before", csv_rejected: "not imported", th_line: "Line", th_outcome: "Outcome",
    print: "Print", role_street: "street", role_community: "community", role_unit: "co-building unit", role_partner: "partner", role_root: "district root",
  },
};

// ---- which operations this node is offered ------------------------------------------------

const F = { open: null, doc: null, message: null, error: null, busy: false };

function catalogue() { return D.catalogue || { operations: [], create: [], defs: {}, request_defs: {}, manages: {} }; }
function offeredOps() { return catalogue().operations.filter(o => o.docs && o.docs.length); }
function offeredCreates() { return catalogue().create.filter(c => c.allowed); }

/** A tab is shown when this node's certificate gives it a standing beyond "anyone
 * certified" towards a document the tab shows (the catalogue's `manages`), or when no
 * catalogue could be read (nothing is hidden on a guess). */
function applyRoleTabs() {
  const cat = D.catalogue;
  const managed = kind => !cat || (cat.manages[kind] || []).length > 0;
  const res = kind => !cat || D.resources.some(r => (cat.manages.resource || []).includes(r.id) && (kind === "kitchen") === (r.kind === "kitchen"));
  const show = {
    "sec-rooms": res("room"), "sec-kitchen": res("kitchen"), "sec-volunteers": managed("ledger"),
    "sec-compounds": managed("registry"), "sec-wishes": managed("wishes"),
    "sec-tasks": !cat || offeredOps().length + offeredCreates().length > 0,
  };
  for (const [id, on] of Object.entries(show)) {
    const sec = $(id);
    if (sec) sec.hidden = !on;
    const link = document.querySelector(`.tabs a[href="#${id}"]`);
    if (link) link.hidden = !on;
  }
}

function roleLabel() {
  const cat = D.catalogue;
  return cat && cat.role ? t("role_" + cat.role) : "";
}

// ---- the tasks section ---------------------------------------------------------------------

function opLabel(o) {
  const key = "op_" + o.op;
  return I18N[lang][key] ?? (o.doc || o.op).split(/[.\n]/)[0];
}

function createLabel(c) {
  return I18N[lang]["cmd_" + c.cmd] ?? (c.doc || c.cmd).split(/[.\n]/)[0];
}

function renderTasks() {
  if (D.errors.catalogue) return errorBox(D.errors.catalogue);
  const ops = offeredOps(), creates = offeredCreates();
  if (!ops.length && !creates.length) return empty("tasks_none");
  const groups = [];
  if (creates.length) groups.push([t("tasks_create"), creates.map(c => ({ id: "cmd:" + c.cmd, label: createLabel(c) }))]);
  for (const kind of ["resource", "registry", "ledger", "wishes", "federation"]) {
    const of = ops.filter(o => o.kind === kind);
    const items = of.map(o => ({ id: o.op, label: opLabel(o) }));
    if (of.some(o => o.op === "ledger.record_services")) items.unshift({ id: "csv:service", label: t("csv_task") });
    if (items.length) groups.push([t("kind_" + kind), items]);
  }
  const picker = h("div", { class: "task-list" }, h("p", { class: "muted" }, t("tasks_pick")),
    groups.map(([title, items]) => h("div", { class: "task-group" }, h("h3", {}, title),
      items.map(it => h("button", {
        type: "button", class: "task" + (F.open === it.id ? " on" : ""), "data-task": it.id,
        onclick: () => { F.open = it.id; F.doc = null; F.message = null; F.error = null; renderTasksOnly(); },
      }, it.label)))));
  return h("div", { class: "tasks" }, picker, F.open ? taskForm(F.open) : null);
}

function tasksKey() {
  return [F.open, F.doc, lang, JSON.stringify(catalogue().operations.map(o => o.docs))].join("|");
}

function renderTasksOnly() {
  const old = $("tasks").querySelector("form.op-form");
  const typed = old && old.dataset.form === F.open ? controls(old).map(c => (c.type === "checkbox" ? c.checked : c.value)) : null;
  try { $("tasks").replaceChildren(...[renderTasks()].flat().filter(k => k != null)); } catch (e) { $("tasks").replaceChildren(errorBox(e)); }
  const form = $("tasks").querySelector("form.op-form");
  if (typed && form) restore(form, typed);
  F.rendered = tasksKey();  // after drawing: the form picks its document
}

function controls(form) {
  return [...form.querySelectorAll("input, select, textarea")].filter(c => !c.hasAttribute("data-doc-select"));
}

/** Puts back what was typed into a form drawn again (another language, new data): in
 * order, a select first, since a variant's select rebuilds the inputs after it. */
function restore(form, typed) {
  for (let i = 0; i < typed.length; i++) {
    const c = controls(form)[i];
    if (!c) return;
    if (c.type === "checkbox") {
      if (c.checked !== typed[i]) { c.checked = typed[i]; c.dispatchEvent(new Event("change")); }
    } else if (c.value !== typed[i]) {
      c.value = typed[i];
      if (c.tagName === "SELECT") c.dispatchEvent(new Event("change"));
    }
  }
}

function docTitle(id) {
  const r = D.resources.find(x => x.id === id);
  if (r) return r.name;
  const d = D.docs.find(x => x.id === id);
  if (!d) return shortId(id);
  return [d.title || d.community || d.owner, d.year].filter(Boolean).join(" · ") || shortId(id);
}

function zoneOf(docId) {
  const r = D.resources.find(x => x.id === docId);
  return (r && r.zone) || "Asia/Shanghai";
}

/** The open form: an operation on one of the documents it is offered on, or a create command. */
function taskForm(id) {
  if (id === "csv:service") return csvForm();
  const cat = catalogue();
  let title, help, fields, defs, submit, docs = null;
  if (id.startsWith("cmd:")) {
    const c = cat.create.find(x => x.cmd === id.slice(4));
    if (!c) return null;
    title = createLabel(c); help = c.doc; fields = c.fields; defs = cat.request_defs;
    submit = values => call(Object.assign({ cmd: c.cmd }, values));
  } else {
    const o = cat.operations.find(x => x.op === id);
    if (!o) return null;
    title = opLabel(o); help = o.doc; fields = o.fields; defs = cat.defs[o.kind] || {};
    docs = o.docs;
    if (!F.doc || !docs.includes(F.doc)) F.doc = docs[0];
    submit = values => call({ cmd: "operation", op: o.op, doc: F.doc, fields: values });
  }
  const zone = docs ? zoneOf(F.doc) : "Asia/Shanghai";
  const ctx = { defs, zone };
  const body = objectFields(fields.map(f => ({ name: f.name, required: f.required, doc: f.doc, schema: f.schema })), ctx);
  const result = h("div", { class: "form-result", role: "status" },
    F.message ? h("p", { class: "form-ok" }, F.message) : null,
    F.error ? h("p", { class: "form-error error-box", "data-kind": F.error.kind || "" }, F.error instanceof FormError ? F.error.message : coreError(F.error)) : null);
  const go = h("button", { type: "submit", class: "primary", "data-submit": id }, t("form_submit"));
  const form = h("form", {
    class: "op-form", "data-form": id, novalidate: true,
    onsubmit: async ev => {
      ev.preventDefault();
      if (F.busy) return;
      let values;
      try { values = body.get(); } catch (e) {
        F.error = e; F.message = null;
        result.replaceChildren(h("p", { class: "form-error error-box" }, e.message));
        return;
      }
      F.busy = true; go.disabled = true;
      try {
        const r = await submit(values || {});
        F.error = null;
        F.message = t("form_done", title) + (r && r.effect ? " · " + JSON.stringify(r.effect) : r && r.doc ? " · " + r.doc : "");
        toast(F.message);
        F.busy = false;
        form.remove();  // done: the form comes back empty
        scheduleLoad();
        renderTasksOnly();
      } catch (e) {
        F.busy = false;
        go.disabled = false;
        F.message = null;
        F.error = e;
        result.replaceChildren(h("p", { class: "form-error error-box", "data-kind": e.kind || "" }, coreError(e)));
      }
    },
  },
  h("h3", {}, title),
  help ? h("p", { class: "muted help" }, help) : null,
  docs ? h("label", { class: "field" }, h("span", {}, t("form_doc")),
    h("select", { "data-doc-select": "", onchange: ev => { F.doc = ev.target.value; renderTasksOnly(); } },
      docs.map(d => h("option", { value: d, selected: d === F.doc }, docTitle(d))))) : null,
  h("p", { class: "muted small" }, t("form_zone", zone)),
  body.el, h("div", { class: "row" }, go), result);
  return form;
}

/** The core's error in the chosen language: its class named, then linli-core's message. */
function coreError(e) {
  if (!(e instanceof ApiError)) return t("error", e && e.message ? e.message : String(e));
  if (e.status === 0) return t("daemon_down");
  const key = "err_" + e.kind;
  const message = lang === "zh" && e.zh ? e.zh : e.message;
  return I18N[lang][key] !== undefined || I18N.en[key] !== undefined ? t(key, message) : t("error", message);
}

// ---- inputs from JSON schemas ----------------------------------------------------------------

class FormError extends Error {}

/** The schema a `$ref` (also inside `allOf` of one, or an optional `anyOf [X, null]`) names. */
function deref(schema, defs) {
  let s = schema || {};
  for (let i = 0; i < 8; i++) {
    const ref = s.$ref || (Array.isArray(s.allOf) && s.allOf.length === 1 && s.allOf[0].$ref);
    if (ref) {
      const name = ref.replace(/^#\/(\$defs|components\/schemas)\//, "");
      s = Object.assign({}, defs[name] || {}, { description: s.description || (defs[name] || {}).description, $name: name });
      continue;
    }
    const alts = s.anyOf || s.oneOf;
    if (Array.isArray(alts) && alts.length === 2 && alts.some(a => a.type === "null")) {
      s = Object.assign({}, alts.find(a => a.type !== "null"), { description: s.description, $optional: true });
      continue;
    }
    if (Array.isArray(s.type) && s.type.includes("null")) {
      const rest = s.type.filter(x => x !== "null");
      s = Object.assign({}, s, { type: rest.length === 1 ? rest[0] : rest, $optional: true });
      continue;
    }
    break;
  }
  return s;
}

/** A field's label: from the dictionary (Chinese), else the first phrase of the schema's
 * description (the core's doc comment), else its name. */
function fieldLabel(name, doc) {
  const l = I18N[lang]["f_" + name];
  if (l) return l;
  const first = (doc || "").split(/[.;:(\n]/)[0].trim();
  if (first && first.length <= 40) return first;
  return name ? name.replace(/_/g, " ") : first.slice(0, 40);
}

/** Inputs for the properties of an object: `{el, get}`; `get` returns the values given. */
function objectFields(props, ctx) {
  const parts = props.map(p => {
    const input = inputFor(p.schema, Object.assign({}, ctx, { required: p.required }), p.name);
    const optional = !p.required;
    const s = deref(p.schema, ctx.defs);
    const compound = s.type === "object" || s.properties || s.oneOf || s.anyOf || s.type === "array";
    const help = p.doc || s.description || "";
    const label = h("span", { class: "flabel", title: help }, fieldLabel(p.name, help), optional ? h("small", { class: "muted" }, t("form_optional")) : null);
    if (optional && compound && s.type !== "array") {
      // An optional group: filled in only when asked for.
      const box = h("input", { type: "checkbox", "data-fill": p.name });
      const wrap = h("div", { class: "optional-body", hidden: true }, input.el);
      box.addEventListener("change", () => { wrap.hidden = !box.checked; });
      return {
        el: h("fieldset", { class: "field group", "data-field": p.name }, h("legend", {}, label, " ", h("label", { class: "fill" }, box, t("form_fill"))),
          help ? h("p", { class: "muted help" }, help) : null, wrap),
        get: () => (box.checked ? input.get() : undefined), name: p.name, doc: help, required: false,
      };
    }
    const el = compound
      ? h("fieldset", { class: "field group", "data-field": p.name }, h("legend", {}, label), help && p.name ? h("p", { class: "muted help" }, help) : null, input.el)
      : h("label", { class: "field", "data-field": p.name }, label, input.el, help ? h("small", { class: "muted help" }, help) : null);
    return { el, get: input.get, name: p.name, doc: help, required: p.required };
  });
  return {
    el: h("div", { class: "fields" }, parts.map(p => p.el)),
    get: () => {
      const out = {};
      for (const p of parts) {
        const v = p.get();
        if (v === undefined || v === "") {
          if (p.required) throw new FormError(t("form_required", fieldLabel(p.name, p.doc)));
          continue;
        }
        out[p.name] = v;
      }
      return out;
    },
  };
}

function isTimestamp(s) {
  return s.$name === "Timestamp" || (s.type === "integer" && /milliseconds since the Unix epoch/i.test(s.description || ""));
}

/** An input for one schema: `{el, get}`. */
function inputFor(schema, ctx, name) {
  const s = deref(schema, ctx.defs);
  // enums of strings, or alternatives that are all constants → a select
  const alts = s.oneOf || s.anyOf;
  const consts = Array.isArray(s.enum) ? s.enum
    : Array.isArray(alts) && alts.every(a => a.const !== undefined || (Array.isArray(a.enum) && a.enum.length))
      ? alts.flatMap(a => a.const !== undefined ? [a.const] : a.enum) : null;
  if (consts) {
    const sel = h("select", { name: name || null },
      h("option", { value: "" }, "—"),
      consts.map(c => h("option", { value: String(c) }, constLabel(c))));
    return { el: sel, get: () => (sel.value === "" ? undefined : sel.value) };
  }
  if (Array.isArray(alts)) return variantInput(alts, ctx, name);
  if (isTimestamp(s)) {
    const inp = h("input", { type: "datetime-local", name: name || null, "data-zone": ctx.zone });
    return { el: inp, get: () => (inp.value ? zonedMillis(inp.value, ctx.zone) : undefined) };
  }
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (type === "object" || s.properties) {
    if (s.properties) {
      const req = s.required || [];
      return objectFields(Object.entries(s.properties).map(([n, ps]) => ({ name: n, required: req.includes(n), doc: ps.description, schema: ps })), ctx);
    }
    return mapInput(s.additionalProperties || {}, ctx);
  }
  if (type === "array") {
    // Items take the list's description when they have none ("Local dates on which …").
    const items = Object.assign({ description: s.description }, s.items || {});
    return arrayInput(items, ctx, name, !s.$optional && ctx.required);
  }
  if (type === "boolean") {
    const box = h("input", { type: "checkbox", name: name || null });
    return { el: h("span", {}, box, " ", t("form_yes")), get: () => box.checked };
  }
  if (type === "integer" || type === "number") {
    const inp = h("input", { type: "number", name: name || null, step: type === "integer" ? "1" : "any", min: s.minimum ?? null });
    return {
      el: inp,
      get: () => {
        if (inp.value.trim() === "") return undefined;
        const n = Number(inp.value);
        if (!Number.isFinite(n)) throw new FormError(t("form_number", inp.value));
        return n;
      },
    };
  }
  if (type === "string") {
    const kind = stringKind(name, s);
    const inp = h("input", { type: kind, name: name || null, step: kind === "time" ? "60" : null });
    // Sent as typed (blank only when nothing was typed): linli-core judges the text.
    return { el: inp, get: () => (inp.value === "" ? undefined : inp.value) };
  }
  // anything else: JSON
  const area = h("textarea", { rows: 3, name: name || null, class: "mono" });
  return {
    el: area,
    get: () => {
      if (!area.value.trim()) return undefined;
      try { return JSON.parse(area.value); } catch (e) { throw new FormError(t("form_json", area.value)); }
    },
  };
}

/** A label for a constant of a schema (a mode, a status, a role …), or the constant. */
function constLabel(c) {
  for (const prefix of ["mode_", "st_", "kind_", "role_", "service_", "rk_"]) {
    const l = label(prefix, c);
    if (l !== String(c)) return l;
  }
  return String(c);
}

/** Dates and times the schema gives as plain strings, told apart by name and help text. */
function stringKind(name, s) {
  const d = (s.description || "") + " " + (name || "");
  if (/\b(local )?(start|end) time\b|\bHH:MM\b|^(from|to|cutoff)$|\btime of day\b/i.test(d) || ["from", "to"].includes(name)) return "time";
  if (/\bdates?\b|YYYY-MM-DD|blackout/i.test(d) && !/time|zone/i.test(d)) return "date";
  return "text";
}

/** Milliseconds of a local date-time ("YYYY-MM-DDTHH:MM") in IANA zone `zone`. */
function zonedMillis(local, zone) {
  const asUtc = Date.parse(local + ":00Z");
  const offset = at => {
    const p = {};
    for (const x of new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(at))) p[x.type] = x.value;
    return Date.parse(`${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}Z`) - at;
  };
  let guess = asUtc - offset(asUtc);
  guess = asUtc - offset(guess);
  return guess;
}

function arrayInput(items, ctx, name, required) {
  const rows = [];
  const list = h("div", { class: "rows" });
  const add = () => {
    const input = inputFor(items, ctx, null);
    const row = { input };
    row.el = h("div", { class: "arr-row" }, input.el,
      h("button", { type: "button", class: "small", onclick: () => { rows.splice(rows.indexOf(row), 1); row.el.remove(); } }, t("form_remove")));
    rows.push(row);
    list.append(row.el);
  };
  return {
    el: h("div", { class: "array", "data-array": name || "" }, list, h("button", { type: "button", class: "small", "data-add": name || "", onclick: add }, t("form_add"))),
    get: () => {
      const out = rows.map(r => r.input.get()).filter(v => v !== undefined);
      return out.length || required ? out : undefined;
    },
  };
}

function mapInput(values, ctx) {
  const rows = [];
  const list = h("div", { class: "rows" });
  const add = () => {
    const key = h("input", { type: "text", placeholder: t("form_key") });
    const val = inputFor(values, ctx, null);
    const row = { key, val };
    row.el = h("div", { class: "arr-row" }, key, val.el,
      h("button", { type: "button", class: "small", onclick: () => { rows.splice(rows.indexOf(row), 1); row.el.remove(); } }, t("form_remove")));
    rows.push(row);
    list.append(row.el);
  };
  return {
    el: h("div", { class: "array map" }, list, h("button", { type: "button", class: "small", onclick: add }, t("form_add"))),
    get: () => {
      const out = {};
      for (const r of rows) { const v = r.val.get(); if (r.key.value.trim() && v !== undefined) out[r.key.value.trim()] = v; }
      return Object.keys(out).length ? out : undefined;
    },
  };
}

/** One of several shapes (a tagged enum): a select of the variant and its own inputs. */
function variantInput(alts, ctx, name) {
  // Alternatives that are lists of names count one variant per name.
  const flat = alts.flatMap(a0 => {
    const a = deref(a0, ctx.defs);
    return Array.isArray(a.enum) ? a.enum.map(v => ({ const: v, description: a.description })) : [a0];
  });
  const variants = flat.map((a0, i) => {
    const a = deref(a0, ctx.defs);
    const props = a.properties || {};
    const names = Object.keys(props);
    const tag = names.find(n => props[n].const !== undefined);
    if (a.const !== undefined) return { key: String(a.const), label: constLabel(a.const), doc: a.description, make: () => ({ el: null, get: () => a.const }) };
    if (tag) {
      // internally tagged: {tag: const, other fields…}
      const rest = names.filter(n => n !== tag);
      return {
        key: String(props[tag].const), label: constLabel(props[tag].const), doc: a.description,
        make: () => {
          const f = objectFields(rest.map(n => ({ name: n, required: (a.required || []).includes(n), doc: props[n].description, schema: props[n] })), ctx);
          return { el: f.el, get: () => Object.assign({ [tag]: props[tag].const }, f.get()) };
        },
      };
    }
    if (names.length === 1) {
      // externally tagged: {variant: value}
      const v = names[0];
      return {
        key: v, label: constLabel(v), doc: a.description,
        make: () => { const f = inputFor(props[v], ctx, v); return { el: f.el, get: () => ({ [v]: f.get() }) }; },
      };
    }
    return { key: String(i), label: String(i + 1), make: () => inputFor(a, ctx, null) };
  });
  const holder = h("div", { class: "variant-body" });
  let current = null;
  const pick = i => { current = variants[i].make(); holder.replaceChildren(...(current.el ? [current.el] : [])); };
  const sel = h("select", { name: name || null, "data-variant": name || "", onchange: ev => pick(variants.findIndex(v => v.key === ev.target.value)) },
    variants.map(v => h("option", { value: v.key, title: v.doc || null }, v.label)));
  pick(0);
  return { el: h("div", { class: "variant" }, h("label", {}, t("form_variant"), " ", sel), holder), get: () => current.get() };
}

// ---- printing --------------------------------------------------------------------------------

/** Prints one section alone (the week's room plan, a kitchen day sheet, a volunteer's
 * statement, the street's scoring table): the print stylesheet shows only `section`. */
function printSection(id) {
  document.body.dataset.print = id;
  const done = () => { delete document.body.dataset.print; window.removeEventListener("afterprint", done); };
  window.addEventListener("afterprint", done);
  window.print();
}

function addPrintButtons() {
  for (const id of ["sec-rooms", "sec-kitchen", "sec-volunteers", "sec-compounds", "sec-wishes"]) {
    const sec = $(id);
    if (!sec || sec.querySelector(":scope > button.print")) continue;
    const b = h("button", { type: "button", class: "small print", "data-print": id, onclick: () => printSection(id) }, t("print"));
    const x = h("button", { type: "button", class: "small print export", "data-export": id, onclick: () => exportSection(id) }, t("export_csv"));
    sec.insertBefore(b, sec.firstChild);
    sec.insertBefore(x, sec.firstChild);
  }
  for (const b of document.querySelectorAll("button.print")) b.textContent = t(b.classList.contains("export") ? "export_csv" : "print");
}

/** The tables a section shows, as CSV (the columns as shown, in the chosen language). */
function sectionCsv(id) {
  const cell = v => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const out = [];
  for (const tb of $(id).querySelectorAll("table")) {
    const sub = tb.closest(".sub");
    const title = sub && sub.querySelector("h3") ? sub.querySelector("h3").innerText : "";
    if (out.length) out.push("");
    if (title) out.push(cell(title));
    for (const tr of tb.querySelectorAll("tr")) {
      out.push([...tr.children].filter(c => !c.classList.contains("actions")).map(c => cell(c.innerText.trim())).join(","));
    }
  }
  return out.join("\r\n") + "\r\n";
}

/** Downloads a section's tables as a CSV file (UTF-8 with a byte order mark, for Excel). */
function exportSection(id) {
  const blob = new Blob(["\uFEFF" + sectionCsv(id)], { type: "text/csv;charset=utf-8" });
  const a = h("a", { href: URL.createObjectURL(blob), download: `linli-${id.slice(4)}-${nowIn().date}.csv` });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

/** Called by dashboard.js's render(): the role-aware tabs, the tasks and the print buttons. */
function renderFormsPart() {
  applyRoleTabs();
  addPrintButtons();
  const role = roleLabel();
  if (role && $("who").firstChild) $("who").append(" · ", h("span", { class: "role", "data-role": D.catalogue.role }, role));
  // An open form keeps what was typed when the data behind the page reloads (live events).
  if (F.open && F.rendered === tasksKey() && $("tasks").querySelector("form.op-form")) return;
  renderTasksOnly();
}

// ---- CSV import of service hours -----------------------------------------------------------
// The node reads the file (`service_csv`: the CLI's import format, each row with its source
// id, so a file imported again names its rows alike); the rows go to `service_import` (the
// CLI's import: `ledger.record_services`) in batches, with progress, and every row's outcome
// is reported with its line.

const CSV_BATCH = 200;

function csvForm() {
  const op = catalogue().operations.find(o => o.op === "ledger.record_services");
  if (!op) return null;
  if (!F.doc || !op.docs.includes(F.doc)) F.doc = op.docs[0];
  const file = h("input", { type: "file", accept: ".csv,text/csv", "data-csv-file": "" });
  const paste = h("textarea", { rows: 5, class: "mono", "data-csv-text": "" });
  const bar = h("progress", { max: 1, value: 0, hidden: true });
  const said = h("p", { class: "muted", "data-csv-progress": "" });
  const report = h("div", { class: "csv-report" });
  const go = h("button", { type: "submit", class: "primary", "data-submit": "csv:service" }, t("form_submit"));
  return h("form", {
    class: "op-form", "data-form": "csv:service", novalidate: true,
    onsubmit: async ev => {
      ev.preventDefault();
      if (F.busy) return;
      F.busy = true; go.disabled = true;
      report.replaceChildren();
      try {
        const text = file.files && file.files[0] ? await file.files[0].text() : paste.value;
        await importCsv(text, F.doc, bar, said, report);
        scheduleLoad();
      } catch (e) {
        report.replaceChildren(h("p", { class: "form-error error-box", "data-kind": e.kind || "" }, coreError(e)));
      } finally {
        F.busy = false; go.disabled = false;
      }
    },
  },
  h("h3", {}, t("csv_task")),
  h("p", { class: "muted help" }, t("csv_columns")),
  h("label", { class: "field" }, h("span", {}, t("form_doc")),
    h("select", { "data-doc-select": "", onchange: ev => { F.doc = ev.target.value; } },
      op.docs.map(d => h("option", { value: d, selected: d === F.doc }, docTitle(d))))),
  h("label", { class: "field" }, h("span", { class: "flabel" }, t("csv_file")), file),
  h("label", { class: "field" }, h("span", { class: "flabel" }, t("csv_paste")), paste),
  h("div", { class: "row" }, go, bar, said), report);
}

async function importCsv(text, doc, bar, said, report) {
  const parsed = await call({ cmd: "service_csv", text });
  const outcome = new Map();  // line → [kind, detail]
  for (const r of parsed) if (r.error) outcome.set(r.line, ["rejected", r.error]);
  const todo = parsed.filter(r => r.row);
  const total = parsed.length;
  bar.hidden = false; bar.max = Math.max(total, 1);
  const show = () => {
    bar.value = outcome.size;
    said.textContent = t("csv_progress", outcome.size, total);
  };
  show();
  // `service_import` writes a batch as one change (what a full change defers goes into
  // the next) and answers each row's outcome, also when every row was imported before.
  for (let at = 0; at < todo.length; at += CSV_BATCH) {
    const batch = todo.slice(at, at + CSV_BATCH);
    const r = await call({ cmd: "service_import", doc, rows: batch.map(x => x.row) });
    batch.forEach((x, i) => {
      const res = (r.rows || [])[i] || {};
      if (res.outcome === "recorded") outcome.set(x.line, ["recorded", res.entry]);
      else if (res.outcome === "already_imported") outcome.set(x.line, ["already", res.entry]);
      else outcome.set(x.line, ["rejected", res.error || res.outcome || ""]);
    });
    show();
  }
  const rows = [...outcome.entries()].sort((a, b) => a[0] - b[0]);
  const count = k => rows.filter(([, [kind]]) => kind === k).length;
  report.replaceChildren(
    h("p", { class: "form-ok", "data-csv-summary": "" }, t("csv_summary", count("recorded"), count("already"), count("rejected"))),
    table([
      { label: "th_line", num: true, cell: ([line]) => String(line) },
      { label: "th_outcome", cell: ([, [kind]]) => h("span", { class: "badge " + (kind === "rejected" ? "st-rejected" : kind === "recorded" ? "st-confirmed" : "st-revoked") }, t("csv_" + kind)) },
      { label: "th_reason", cell: ([, [, detail]]) => detail || "" },
    ], rows, ([line, [kind]]) => ({ "data-line": line, "data-outcome": kind })));
}

// ---- roster import and volunteer reports (the roster tab) ----------------------------------
// The node reads the roster CSV (`roster_csv`: the CLI's format, each record with its line);
// the rows go to `roster_import` (`volunteers.import_roster`, one change per batch) with
// progress, and every row's outcome is reported with its line. Reports are typed reads
// (`monthly_report`, `yearly_report`) computed by linli-core; "print" prints the report alone.

const ROSTER_BATCH = 200;
/** Per registry: the import's state and report, the report shown; kept across re-renders. */
const RS = { imports: {}, report: null, busy: false };

function rosterI18n() {
  if (I18N.zh.roster_import) return;
  Object.assign(I18N.zh, {
    roster_import: "导入志愿者名册（CSV）", roster_columns: "列：name（必填）, phone, id_number, type（resident / in_service）, unit, teams（; 分隔）, posts（队伍:岗位）, id；也可用中文列名：姓名、电话、身份证号、类型、报到单位、队伍、岗位",
    roster_progress: "已处理 {0} / {1} 行", roster_summary: "新登记 {0} · 已登记过 {1} · 未导入 {2}",
    roster_registered: "已登记", roster_already: "已登记过", roster_rejected: "未导入",
    report_title: "志愿服务报表", report_monthly: "月度志愿报表", report_yearly: "年度公开报告",
    report_month: "月份", report_year: "年份", report_show: "生成报表", report_print: "打印报表",
    th_team: "队伍", th_members: "在册", th_served: "参与服务", th_registered: "新登记", th_services: "服务次数",
    th_minutes: "分钟", th_result: "结果", report_total: "合计", report_no_team: "（未分队）",
    matters_received: "接待事项", wishes_posted: "微心愿", wishes_fulfilled: "实现心愿", problems_resolved: "解决问题",
    volunteers_active: "在册志愿者",
  });
  Object.assign(I18N.en, {
    roster_import: "Import a volunteer roster (CSV)", roster_columns: "columns: name (required), phone, id_number, type (resident / in_service), unit, teams (';' between), posts (team:duty), id; Chinese headers work too",
    roster_progress: "{0} of {1} rows done", roster_summary: "{0} registered · {1} registered before · {2} not imported",
    roster_registered: "registered", roster_already: "registered before", roster_rejected: "not imported",
    report_title: "Volunteer reports", report_monthly: "Monthly volunteer report", report_yearly: "Yearly public report",
    report_month: "Month", report_year: "Year", report_show: "Show report", report_print: "Print report",
    th_team: "Team", th_members: "Members", th_served: "Served", th_registered: "New", th_services: "Services",
    th_minutes: "Minutes", th_result: "Result", report_total: "Total", report_no_team: "(no team)",
    matters_received: "Matters received", wishes_posted: "Micro-wishes", wishes_fulfilled: "Wishes fulfilled", problems_resolved: "Problems resolved",
    volunteers_active: "Active volunteers",
  });
}

/** The import form of registry `doc` (when this node may import into it), and its report. */
function rosterImport(doc) {
  rosterI18n();
  const op = catalogue().operations.find(o => o.op === "volunteers.import_roster");
  if (!op || !(op.docs || []).includes(doc)) return null;
  const st = RS.imports[doc] || (RS.imports[doc] = { outcome: null, done: 0, total: 0, error: null });
  const file = h("input", { type: "file", accept: ".csv,text/csv", "data-roster-file": "" });
  const paste = h("textarea", { rows: 4, class: "mono", "data-roster-text": "" });
  const go = h("button", { type: "submit", class: "primary", "data-submit": "roster:" + doc, disabled: RS.busy }, t("form_submit"));
  const bar = h("progress", { max: Math.max(st.total, 1), value: st.done, hidden: !st.total, "aria-label": t("roster_import") });
  const said = h("p", { class: "muted", "data-roster-progress": "" }, st.total ? t("roster_progress", st.done, st.total) : "");
  return h("form", {
    class: "op-form roster-import", "data-roster-form": doc, novalidate: true,
    onsubmit: async ev => {
      ev.preventDefault();
      if (RS.busy) return;
      RS.busy = true; go.disabled = true;
      Object.assign(st, { outcome: null, done: 0, total: 0, error: null });
      try {
        const text = file.files && file.files[0] ? await file.files[0].text() : paste.value;
        await importRoster(text, doc, st, () => {
          bar.hidden = false; bar.max = Math.max(st.total, 1); bar.value = st.done;
          said.textContent = t("roster_progress", st.done, st.total);
        });
      } catch (e) {
        st.error = e;
      } finally {
        RS.busy = false;
        render();
        scheduleLoad();
      }
    },
  },
  h("h4", {}, t("roster_import")),
  h("p", { class: "muted help" }, t("roster_columns")),
  h("label", { class: "field" }, h("span", { class: "flabel" }, t("csv_file")), file),
  h("label", { class: "field" }, h("span", { class: "flabel" }, t("csv_paste")), paste),
  h("div", { class: "row" }, go, bar, said),
  st.error ? h("p", { class: "form-error error-box", "data-kind": st.error.kind || "" }, coreError(st.error)) : null,
  st.outcome ? rosterOutcome(st.outcome) : null);
}

async function importRoster(text, doc, st, show) {
  const parsed = await call({ cmd: "roster_csv", text });
  const outcome = new Map();  // line → [kind, detail]
  for (const r of parsed) if (r.error) outcome.set(r.line, ["rejected", r.error]);
  const todo = parsed.filter(r => r.row);
  st.total = parsed.length; st.done = outcome.size; show();
  for (let at = 0; at < todo.length; at += ROSTER_BATCH) {
    const batch = todo.slice(at, at + ROSTER_BATCH);
    const r = await call({ cmd: "roster_import", doc, rows: batch.map(x => x.row) });
    batch.forEach((x, i) => {
      const res = (r.rows || [])[i] || {};
      if (res.outcome === "registered") outcome.set(x.line, ["registered", res.volunteer]);
      else if (res.outcome === "already_registered") outcome.set(x.line, ["already", res.volunteer]);
      else outcome.set(x.line, ["rejected", res.error || res.outcome || ""]);
    });
    st.done = outcome.size; show();
  }
  st.outcome = [...outcome.entries()].sort((a, b) => a[0] - b[0]);
}

function rosterOutcome(rows) {
  const count = k => rows.filter(([, [kind]]) => kind === k).length;
  return h("div", { class: "csv-report", "data-roster-report": "" },
    h("p", { class: "form-ok", "data-roster-summary": "" }, t("roster_summary", count("registered"), count("already"), count("rejected"))),
    table([
      { label: "th_line", num: true, cell: ([line]) => String(line) },
      { label: "th_outcome", cell: ([, [kind]]) => h("span", { class: "badge " + (kind === "rejected" ? "st-rejected" : kind === "registered" ? "st-confirmed" : "st-revoked") }, t("roster_" + kind)) },
      { label: "th_result", cell: ([, [, detail]]) => detail || "" },
    ], rows, ([line, [kind]]) => ({ "data-line": line, "data-outcome": kind })));
}

/** The report panel: pick a month or a year, show the report, print it alone. */
function rosterReports() {
  rosterI18n();
  if (!docsOf("volunteers").length) return null;
  const now = nowIn();
  const month = h("input", { type: "month", value: (RS.report && RS.report.month) || now.date.slice(0, 7), "data-report-month": "" });
  const year = h("input", { type: "number", min: 2000, max: 9999, value: (RS.report && RS.report.year) || now.date.slice(0, 4), "data-report-year": "" });
  const show = (read, extra) => async () => {
    try {
      const r = await call({ cmd: "read", read: Object.assign({ read }, extra()) });
      RS.report = Object.assign({ read, data: r }, read === "monthly_report" ? { month: r.month } : { year: r.year });
    } catch (e) {
      RS.report = { read, error: e };
    }
    render();
  };
  const r = RS.report;
  return h("div", { class: "sub roster-reports", "data-reports": "" },
    h("h3", {}, t("report_title")),
    h("div", { class: "row no-print" },
      h("label", { class: "field" }, h("span", { class: "flabel" }, t("report_month")), month),
      h("button", { type: "button", "data-report": "monthly", onclick: show("monthly_report", () => ({ month: month.value })) }, t("report_monthly")),
      h("label", { class: "field" }, h("span", { class: "flabel" }, t("report_year")), year),
      h("button", { type: "button", "data-report": "yearly", onclick: show("yearly_report", () => ({ year: Number(year.value) })) }, t("report_yearly")),
      r && r.data ? h("button", { type: "button", class: "small", "data-report-print": "", onclick: () => printSection("sec-roster") }, t("report_print")) : null),
    r && r.error ? errorBox(r.error) : null,
    r && r.data ? reportView(r) : null);
}

function reportView(r) {
  const d = r.data;
  const monthly = r.read === "monthly_report";
  const title = monthly ? `${t("report_monthly")} · ${d.community} · ${d.month}` : `${t("report_yearly")} · ${d.community} · ${d.year}`;
  const figures = monthly ? null : h("table", { class: "report-figures" }, h("tbody", {},
    ["matters_received", "wishes_posted", "wishes_fulfilled", "problems_resolved", "volunteers"].map(k =>
      h("tr", { "data-figure": k }, h("th", {}, t(k === "volunteers" ? "volunteers_active" : k)), h("td", { class: "num" }, String(d[k]))))));
  const teamName = l => l.team === "*" ? t("report_total") : l.team === "" ? t("report_no_team") : l.name;
  return h("div", { class: "report", "data-report-kind": monthly ? "monthly" : "yearly" },
    h("h4", {}, title), figures,
    table([
      { label: "th_team", cell: teamName },
      { label: "th_members", num: true, cell: l => String(l.members) },
      { label: "th_served", num: true, cell: l => String(l.served) },
      { label: "th_registered", num: true, cell: l => String(l.registered) },
      { label: "th_services", num: true, cell: l => String(l.services) },
      { label: "th_hours", num: true, cell: l => l.hours },
      { label: "th_points", num: true, cell: l => l.points },
    ], d.teams, l => ({ "data-team": l.team })));
}
