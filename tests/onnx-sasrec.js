// onnx-sasrec.js - scores sequence records with ONNX Runtime: the
// independent check of rec-export --format onnx on a sasrec model
// (tests/cli/onnx-sasrec.sh).
//
//   node onnx-sasrec.js MODEL.onnx [--empty KEY] < RECORDS.txt
//
// RECORDS.txt is `rec-cat` of a hashed sequence stream grouped by user
// (label, group=KEY, then item=ID for each item, oldest first). Runs the
// graph once per record on its items as rec-export(1) describes, and
// prints `KEY<TAB>ITEM_ID<TAB>SCORE` for every catalogue item, in the
// graph's order; --empty KEY adds a user with no history at all.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function parseRecord(line) {
	const user = { key: '', items: [] };
	for (const col of line.split('\t').slice(1)) {
		const eq = col.indexOf('=');
		const name = col.slice(0, eq), value = col.slice(eq + 1);
		if (name === 'group') user.key = value;
		else user.items.push(BigInt.asIntN(64, BigInt(value)));
	}
	return user;
}

async function main() {
	const args = process.argv.slice(2);
	const model = args[0];
	const lines = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.length);
	const users = lines.map(parseRecord);
	if (args[1] === '--empty') users.push({ key: args[2], items: [] });
	const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
	const out = [];
	for (const u of users) {
		const items = new ort.Tensor('int64', BigInt64Array.from(u.items), [u.items.length]);
		const r = await session.run({ items });
		const scores = r.scores.data, ids = r.item_ids.data;
		if (scores.length !== ids.length) throw new Error(`${scores.length} scores, ${ids.length} IDs`);
		for (let j = 0; j < scores.length; j++)
			out.push(`${u.key}\t${BigInt.asUintN(64, ids[j])}\t${scores[j].toPrecision(9)}`);
	}
	process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
	process.stderr.write(`onnx-sasrec.js: ${e.message}\n`);
	process.exit(1);
});
