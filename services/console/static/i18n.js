// Labels in Chinese (zh-CN) with English available; the choice is kept
// in localStorage.
const labels = {
  'zh-CN': {
    title: '群运控制台', login: '账号', password: '密码', sign_in: '登录', logout: '退出',
    overview: '总览', groups: '社群', search: '会话存档', queue: '审核队列', audit: '审计日志',
    deadletters: '死信', deliveries: '投递', campaigns: '活动', channels: '渠道', rules: '规则', tokens: 'API 令牌',
    messages: '消息', active: '活跃成员', joins: '入群', leaves: '退群', violations: '违规', open_reviews: '待审核',
    pending_jobs: '待执行任务', today: '今日', yesterday: '昨日', trend: '趋势', days: '天',
    states: '社群健康状态', growing: '增长', healthy: '健康', declining: '衰退', zombie: '僵尸',
    stores_ranked: '门店排名', store: '门店', region: '区域', state: '状态', tag: '标签', type: '类型',
    size: '成员数', health: '健康分', sop: 'SOP 执行率', alerts: '当前预警', code: '编号', name: '名称',
    positioning: '定位', tags: '标签', capacity: '容量', activity: '日均消息', filter: '筛选', export: '导出 CSV',
    next: '下一页', prev: '上一页', total: '共', save: '保存', members: '成员', standing: '成员分层',
    suggestions: '一进一出 / 清理建议', channel_mix: '渠道构成', recent_messages: '最近消息', posts: '活动推送',
    health_parts: '健康分构成', member: '成员', group: '社群', text: '内容', kind: '消息类型', from: '开始', to: '结束',
    find: '搜索', no_results: '没有结果', confirm: '确认违规', overturn: '推翻（误判）', reason: '理由',
    select_all: '全选', history: '历史', scores: '规则得分', evidence: '证据', decided: '已处理',
    trust: '信任等级', contribution: '贡献', joined: '入群时间', role: '角色', strikes: '警告次数',
    muted_until: '禁言至', block: '封禁', opted_out: '退订', groups_of: '所在社群', campaign_interactions: '活动互动',
    shortcuts: '快捷键：j/k 上下，x 选择，c 确认，o 推翻', resolve: '关闭', replay: '重放', result: '结果', step: '步骤', health_history: '健康分及构成（按天）', active_ratio: '周活跃率', self_activation: '自发活跃', top3_share: '头部 3 人占比', growth_rate: '增长率', leave_rate: '流失率', campaign: '活动', variant: '文案版本', sent: '已发送', replies_1h: '1 小时内回复', conversions: '转化', measurement: '按步骤与版本的效果', sop_per_store: '各门店 SOP 执行率', pause: '暂停', resume: '恢复', edit: '编辑', validate: '校验', apply: '应用', replan: '重新排期未发送的步骤', valid: '校验通过（未保存）', applied: '已应用', campaign_edit: '活动定义', campaign_help: '粘贴或编辑活动定义（JSON，见 docs/campaign.md），先校验，再应用。', jobs: '任务', blocked_by_guard: '被保护规则拦截的步骤', delivered: '已送达', blocked: '已拦截', revenue_cents: '金额（分）', due: '应执行', done: '已执行', excused: '豁免', missed: '遗漏', compliance_pct: '执行率 %', trigger: '触发', version: '版本', updated_at: '更新时间', guard: '保护规则', backtest: '回测（不保存）', saved: '已保存规则数', bt_messages: '回测消息数', bt_changed: '判定改变', bt_verdicts: '判定变化', bt_flagged: '将被改判的消息', bt_now: '当前规则', bt_proposed: '修改后', bt_then_save: '回测完成：确认结果后可保存', rules_help: '编辑规则（每行一条：名称、类型、类别、权重、模式、试运行；模式中的词库条目以 \\n 分隔），先回测再保存。', rules_current: '当前规则', lists: '词库与白名单', policies: '阈值与处罚阶梯', action: '动作', actor: '操作人', at: '时间',
    object: '对象', service: '服务', status: '状态', retention7: '7 日留存', spoke: '发言', violators: '违规人数',
    enabled: '启用', weight: '权重', pattern: '模式', dry_run: '试运行', category: '类别', score: '得分',
    tasks: '员工任务', task: '任务', created_at: '创建时间', task_open: '待处理', task_overdue: '已逾期', task_done: '已完成', task_closed: '已关闭',
    task_all: '全部', task_report: '完成情况（门店 / 员工）', kind_post: '群发确认', kind_answer: '回复客户', kind_remove: '移出群聊',
    kind_recall_warn: '撤回并提醒', assignee: '负责人', due_at: '截止', closed_at: '关闭时间', close_evidence: '完成依据',
    note: '备注（做了什么）', mark_done: '标记为已完成', notices: '通知', touser: '接收人', delivered_at: '送达时间',
    completion_pct: '完成率 %', median_min: '中位用时（分）', p90_min: 'P90 用时（分）', by_note: '备注完成',
    loading: '加载中…', reason_required: '请填写理由', none: '无', lang: 'EN'
  },
  en: {
    title: 'Qunyun console', login: 'Login', password: 'Password', sign_in: 'Sign in', logout: 'Log out',
    overview: 'Overview', groups: 'Groups', search: 'Archive', queue: 'Review queue', audit: 'Audit log',
    deadletters: 'Dead letters', deliveries: 'Deliveries', campaigns: 'Campaigns', channels: 'Channels', rules: 'Rules', tokens: 'API tokens',
    messages: 'Messages', active: 'Active members', joins: 'Joins', leaves: 'Leaves', violations: 'Violations', open_reviews: 'Open reviews',
    pending_jobs: 'Overdue jobs', today: 'Today', yesterday: 'Yesterday', trend: 'Trend', days: 'days',
    states: 'Groups by health', growing: 'Growing', healthy: 'Healthy', declining: 'Declining', zombie: 'Zombie',
    stores_ranked: 'Stores ranked', store: 'Store', region: 'Region', state: 'State', tag: 'Tag', type: 'Type',
    size: 'Members', health: 'Health', sop: 'SOP compliance', alerts: 'Current alerts', code: 'Code', name: 'Name',
    positioning: 'Positioning', tags: 'Tags', capacity: 'Capacity', activity: 'Msgs/day', filter: 'Filter', export: 'Export CSV',
    next: 'Next', prev: 'Previous', total: 'Total', save: 'Save', members: 'Members', standing: 'Member standing',
    suggestions: 'One-in-one-out / clean-out', channel_mix: 'Channel mix', recent_messages: 'Recent messages', posts: 'Campaign posts',
    health_parts: 'Health measures', member: 'Member', group: 'Group', text: 'Text', kind: 'Type', from: 'From', to: 'To',
    find: 'Search', no_results: 'No results', confirm: 'Confirm', overturn: 'Overturn', reason: 'Reason',
    select_all: 'Select all', history: 'History', scores: 'Rule scores', evidence: 'Evidence', decided: 'Decided',
    trust: 'Trust', contribution: 'Contribution', joined: 'Joined', role: 'Role', strikes: 'Strikes',
    muted_until: 'Muted until', block: 'Block', opted_out: 'Opted out', groups_of: 'Groups', campaign_interactions: 'Campaign interactions',
    shortcuts: 'Keys: j/k move, x select, c confirm, o overturn', resolve: 'Close', replay: 'Replay', result: 'Result', step: 'step', health_history: 'Health score and its parts, by day', active_ratio: 'Active ratio', self_activation: 'Self-activation', top3_share: 'Top-3 share', growth_rate: 'Growth rate', leave_rate: 'Leave rate', campaign: 'Campaign', variant: 'Variant', sent: 'Sent', replies_1h: 'Replies within 1 h', conversions: 'Conversions', measurement: 'Per step and variant', sop_per_store: 'SOP compliance per store', pause: 'Pause', resume: 'Resume', edit: 'Edit', validate: 'Validate', apply: 'Apply', replan: 're-plan steps not yet sent', valid: 'Valid (nothing saved)', applied: 'Applied', campaign_edit: 'Campaign definition', campaign_help: 'Paste or edit a definition (JSON, docs/campaign.md), validate, then apply.', jobs: 'Jobs', blocked_by_guard: 'Steps blocked by a guard', delivered: 'Delivered', blocked: 'Blocked', revenue_cents: 'Revenue (cents)', due: 'Due', done: 'Done', excused: 'Excused', missed: 'Missed', compliance_pct: 'Compliance %', trigger: 'Trigger', version: 'Version', updated_at: 'Updated', guard: 'Guard', backtest: 'Backtest (nothing saved)', saved: 'Rules saved', bt_messages: 'Messages tried', bt_changed: 'Verdicts changed', bt_verdicts: 'Verdict changes', bt_flagged: 'Messages that would be judged differently', bt_now: 'Current rules', bt_proposed: 'Proposed', bt_then_save: 'Backtest done: save once the result is right', rules_help: 'Edit the rules (one per line: name, kind, category, weight, pattern, dry_run; dictionary entries in a pattern separated by \\n), backtest, then save.', rules_current: 'Current rules', lists: 'Dictionaries and allow-lists', policies: 'Thresholds and ladders', action: 'Action', actor: 'Actor', at: 'At',
    object: 'Object', service: 'Service', status: 'Status', retention7: '7-day retention', spoke: 'Spoke', violators: 'Violators',
    enabled: 'Enabled', weight: 'Weight', pattern: 'Pattern', dry_run: 'Dry run', category: 'Category', score: 'Score',
    tasks: 'Staff tasks', task: 'Task', created_at: 'Created', task_open: 'Open', task_overdue: 'Overdue', task_done: 'Done', task_closed: 'Closed',
    task_all: 'All', task_report: 'Completion (stores / staff)', kind_post: 'Confirm mass send', kind_answer: 'Answer',
    kind_remove: 'Remove from group', kind_recall_warn: 'Recall and warn', assignee: 'Assignee', due_at: 'Due',
    closed_at: 'Closed', close_evidence: 'Evidence', note: 'Note (what was done)', mark_done: 'Mark done', notices: 'Notices',
    touser: 'To', delivered_at: 'Delivered', completion_pct: 'Completion %', median_min: 'Median (min)', p90_min: 'P90 (min)',
    by_note: 'By note',
    loading: 'Loading…', reason_required: 'A reason is required', none: 'none', lang: '中文'
  }
};

let lang = localStorage.getItem('qy.lang') === 'en' ? 'en' : 'zh-CN';

export const t = (key) => labels[lang][key] ?? key;
export const currentLang = () => lang;
export function toggleLang () {
  lang = lang === 'en' ? 'zh-CN' : 'en';
  localStorage.setItem('qy.lang', lang);
  document.documentElement.lang = lang;
}
export function applyStatic () {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.getElementById('lang').textContent = t('lang');
}
