-- Issue 20: the rules the default set gained, for brands that loaded the
-- default set before it (they have its ad.keyword rule): complaints
-- (scored apart, never punished), the abuse guard for complaints, and
-- contact details in disguise; ad.classifier_clear cancels up to 1.5 (it
-- cancelled 1.0 before a disguise could add 0.5). A brand's own weights
-- and rules of the same name are left as they are. The same rows as
-- services/moderation/judge/default_rules.tsv (TSV escapes, as E'' strings).
INSERT INTO rules (brand_id, name, kind, category, weight, pattern)
SELECT r.brand_id, n.name, n.kind, n.category, n.weight, n.pattern
FROM rules r
CROSS JOIN (VALUES
    ('ad.contact_disguised', 'disguise', 'ad', 0.5, E''),
    ('complaint.quality', 'keyword', 'complaint', 0.25, E'质量差\n质量太差\n质量不好\n质量有问题\n做工差\n做工粗糙\n坏了\n坏的\n破了\n掉色\n褪色\n脱色\n起球\n开线\n色差\n异味\n怪味\n发霉\n变质\n过期\n不新鲜\n烂了\n漏液\n漏水\n划痕\n假货\n假的\n翻新\n次品\n残次\n瑕疵\n虫子\n头发丝\n不能用\n用不了\n充不进电\n死机\n卡顿\n黑屏\n没效果\n不好用\n难用\n难吃\n不好吃\n太咸\n太淡\n凉了\n变形\n尺码不对\n不合身\n图片不一样\n与描述不符\n货不对板\n缩水\n不甜\n太小\n偏小\n太硬\n难闻\n刺鼻\n过敏\n头皮屑\n掉发\n发烫\n发热\n闪退\n异响\n噪音\n脏\n有虫\n生的\n臭了\n馊了\n油腻\n粗糙\n掉漆\n质量一般\n质量很差\n味道一般\n很难吃\n没法吃\n不能吃'),
    ('complaint.delivery', 'keyword', 'complaint', 0.25, E'快递慢\n物流慢\n太慢\n送货慢\n送餐慢\n配送慢\n还没到\n没收到\n没送到\n不发货\n发货慢\n超时\n送错\n发错\n少发\n漏发\n少送\n漏送\n丢件\n压坏\n破损\n包装破\n压扁\n摔坏\n碎了\n洒了\n撒了\n没送\n少了\n缺了\n漏了\n送晚了\n迟到\n很久才到\n还不到\n送不到\n物流太慢\n送货太慢\n包装太差\n包装简陋'),
    ('complaint.refund', 'keyword', 'complaint', 0.25, E'退款\n退货\n换货\n退换\n退钱\n退差价\n不给退\n售后\n维修\n保修\n三包\n七天无理由\n赔偿\n赔钱\n索赔\n不退\n没退\n拒绝退\n退不了\n换不了\n不给换'),
    ('complaint.price', 'keyword', 'complaint', 0.25, E'降价\n差价\n保价\n价保\n涨价\n太贵\n乱收费\n多收\n多扣\n价格欺诈\n优惠券用不了\n满减没\n坑钱\n价格贵\n太贵了\n变贵\n不便宜\n贵了\n不值这个价'),
    ('complaint.service', 'keyword', 'complaint', 0.25, E'态度差\n态度不好\n态度恶劣\n态度很差\n服务差\n服务不好\n服务太差\n不理人\n没人理\n没人管\n没人处理\n爱答不理\n不回复\n不回消息\n没人接\n推脱\n踢皮球\n敷衍\n素质差\n素质低\n素质太低\n不理\n不管\n没人回\n服务一般\n服务态度\n态度差劲\n爱理不理\n不耐烦\n推卸\n不负责'),
    ('complaint.negative', 'keyword', 'complaint', 0.5, E'失望\n垃圾\n坑人\n坑爹\n被坑\n骗人\n骗子\n上当\n后悔\n太差\n很差\n极差\n差劲\n不满意\n无语\n恶心\n生气\n气死\n心塞\n离谱\n糟糕\n再也不买\n再也不来\n不会再买\n不推荐\n别买\n千万别\n不值\n不怎么样\n不好\n!不好意思\n!好不好\n!不好说\n不满\n很慢\n太慢\n慢死了\n不划算\n忽悠\n欺骗\n劣质\n山寨\n不靠谱\n郁闷\n上当了\n失败\n难看\n太坑\n坑了\n很坑\n被骗\n不敢买\n投诉无门\n别再买\n不会再来\n再也不会'),
    ('complaint.explicit', 'keyword', 'complaint', 0.5, E'投诉\n维权\n曝光\n12315\n消协\n给个说法\n要个说法\n差评'),
    ('complaint.classifier', 'classifier', 'complaint', 1.0, E'complaint:0.5'),
    ('complaint.classifier_clear', 'classifier', 'complaint', -2.0, E'complaint:<0.5'),
    ('abuse.complaint_guard', 'guard', 'abuse', -1.0, E'complaint:0.75')
) AS n (name, kind, category, weight, pattern)
WHERE r.name = 'ad.keyword'
ON CONFLICT (brand_id, name) DO NOTHING;

UPDATE rules SET weight = -1.5, updated_at = now ()
WHERE name = 'ad.classifier_clear' AND kind = 'classifier' AND weight = -1.0;
