// onnx-score.js - scores records with ONNX Runtime: the independent check
// of rec-export --format onnx (tests/cli/onnx.sh).
//
//   node onnx-score.js MODEL.onnx SCHEMA.txt < RECORDS.txt
//
// SCHEMA.txt is `rec-cat --schema` of a hashed stream, RECORDS.txt its
// `rec-cat`. Builds the graph's inputs as rec-export(1) describes them and
// prints one score per record.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readSchema(path) {
	const lines = fs.readFileSync(path, 'utf8').split('\n');
	const schema = { fields: [], weight: false, group: false };
	let i = 0;
	for (; i < lines.length && !lines[i].startsWith('fields:'); i++) {
		if (lines[i] === 'weight: yes') schema.weight = true;
		if (lines[i] === 'group: yes') schema.group = true;
	}
	const n = parseInt(lines[i].slice(7), 10);
	for (let f = 0; f < n; f++) {
		const [name, kind] = lines[i + 1 + f].trim().split('\t');
		schema.fields.push({ name, kind: kind.split(' ')[0] });
	}
	return schema;
}

// One record's sparse values [id, value, field] and numeric values.
function parseRecord(line, schema, index) {
	const cols = line.split('\t');
	const rec = { sparse: [], numeric: new Array(schema.numeric.length).fill(0) };
	let c = 1 + (schema.weight ? 1 : 0) + (schema.group ? 1 : 0);
	for (; c < cols.length; c++) {
		const eq = cols[c].indexOf('=');
		const f = index.get(cols[c].slice(0, eq));
		const v = cols[c].slice(eq + 1);
		if (schema.fields[f].kind === 'num') {
			rec.numeric[schema.numeric.indexOf(f)] = parseFloat(v);
			continue;
		}
		const colon = v.indexOf(':');
		const id = BigInt.asIntN(64, BigInt(colon < 0 ? v : v.slice(0, colon)));
		rec.sparse.push([id, colon < 0 ? 1 : parseFloat(v.slice(colon + 1)), f]);
	}
	return rec;
}

function feeds(records, schema, inputNames) {
	const N = records.length;
	const L = Math.max(1, ...records.map((r) => r.sparse.length));
	const ids = new BigInt64Array(N * L), fields = new BigInt64Array(N * L);
	const values = new Float32Array(N * L);  // padding: value 0
	const F = schema.numeric.length, numeric = new Float32Array(N * F);
	records.forEach((r, i) => {
		r.sparse.forEach(([id, v, f], j) => {
			ids[i * L + j] = id;
			values[i * L + j] = v;
			fields[i * L + j] = BigInt(f);
		});
		numeric.set(r.numeric, i * F);
	});
	const out = {
		ids: new ort.Tensor('int64', ids, [N, L]),
		values: new ort.Tensor('float32', values, [N, L]),
		fields: new ort.Tensor('int64', fields, [N, L]),
	};
	if (inputNames.includes('numeric'))
		out.numeric = new ort.Tensor('float32', numeric, [N, F]);
	return out;
}

async function main() {
	const [model, schemaPath] = process.argv.slice(2);
	const schema = readSchema(schemaPath);
	schema.numeric = schema.fields.map((f, i) => (f.kind === 'num' ? i : -1)).filter((i) => i >= 0);
	const index = new Map(schema.fields.map((f, i) => [f.name, i]));
	const lines = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.length);
	const records = lines.map((l) => parseRecord(l, schema, index));
	const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
	const result = await session.run(feeds(records, schema, session.inputNames));
	const score = result.score.data;
	const text = [];
	for (let i = 0; i < score.length; i++)
		text.push(score[i].toPrecision(9));
	process.stdout.write(text.join('\n') + '\n');
}

main().catch((e) => {
	process.stderr.write(`onnx-score.js: ${e.message}\n`);
	process.exit(1);
});
