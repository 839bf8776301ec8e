import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findDuplicateKey, looksLikeJsonObject, parseJsonDocument } from '../../src/config/json-document.js';

test('keys are compared per object and decoded; strings with braces, quotes and commas are not structure', () => {
  assert.equal(findDuplicateKey('{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}'), undefined, 'same key in different objects');
  assert.equal(findDuplicateKey('{"a": "x\\", \\"a\\": {", "b": "}, \\"a\\""}'), undefined, 'look-alikes inside values');
  assert.equal(findDuplicateKey('["a", "a", {"a": ["a", "a"]}]'), undefined, 'strings in arrays are values');
  assert.deepEqual(findDuplicateKey('{"a": 1, "\\u0061": 2}'), { key: 'a', offset: 9 });
  assert.deepEqual(findDuplicateKey('{"x": [1, {"k": {}, "k": []}]}'), { key: 'k', offset: 20 });
  assert.deepEqual(findDuplicateKey('{"v": "a", "w": "b", "v": "c"}')?.key, 'v');
});

test('a duplicate key is a problem on its line; text that is not JSON is left to the YAML parser', () => {
  assert.deepEqual(parseJsonDocument('{"a": [1, 2]}'), { value: { a: [1, 2] } });
  const bad = parseJsonDocument('{\n"a": 1,\n"b": }');
  assert.ok('syntaxError' in bad && /JSON|Unexpected/.test(bad.syntaxError), JSON.stringify(bad));
  const dup = parseJsonDocument('{\n"a": 1,\n\n"a": 2}');
  assert.ok(dup !== undefined && 'problem' in dup && dup.problem.line === 4 && /duplicate key "a"/.test(dup.problem.message), JSON.stringify(dup));
});

test('only text that opens with an object takes the JSON path', () => {
  assert.equal(looksLikeJsonObject(' \n {"a": 1}'), true);
  assert.equal(looksLikeJsonObject('a: 1\n'), false);
  assert.equal(looksLikeJsonObject('[1]'), false);
});
