#!/usr/bin/env python3
"""Writes Tests/JMESPathTests/vectors.json: our own expressions over our own documents, with the
results of the reference implementation (the `jmespath` package aws-cli uses, from PyPI), or
"error" where it refuses the expression. The Swift tests check that `JMESPath` agrees; they do
not run Python. Regenerate after adding cases: python3 scripts/gen-jmespath-vectors.py"""
import json, os
import jmespath

users = {"Users": [
    {"UserName": "admin", "Path": "/", "UserId": "AIDA1", "Arn": "arn:aws:iam::111111111111:user/admin", "CreateDate": 1700000000},
    {"UserName": "analyst", "Path": "/team/", "UserId": "AIDA2", "Arn": "arn:aws:iam::111111111111:user/team/analyst", "CreateDate": 1700000100,
     "Tags": [{"Key": "team", "Value": "ads"}, {"Key": "level", "Value": "2"}]},
    {"UserName": "mallory", "Path": "/", "UserId": "AIDA3", "Arn": "arn:aws:iam::111111111111:user/mallory", "CreateDate": 1700000050,
     "Tags": [{"Key": "team", "Value": "ops"}]},
], "IsTruncated": False}
jobs = {"audienceGenerationJobs": [
    {"name": "spring", "status": "ACTIVE", "sizes": [100, 300], "metrics": {"recall": 0.91}},
    {"name": "summer", "status": "CREATE_FAILED", "sizes": [], "metrics": None},
    {"name": "autumn", "status": "CREATE_IN_PROGRESS", "sizes": [50]},
], "nextToken": None}
nested = {"a": {"b": {"c": [1, 2, 3, 4, 5, 6]}}, "m": [[1, 2], [3, [4, 5]], 6], "o": {"x": 1, "y": 2, "z": {"w": 3}},
          "s": "hello", "n": 0, "e": "", "t": True, "f": False, "z": None, "weird key": 7, "nums": [3, 1, 2], "strs": ["b", "a", "c"]}

cases = {
    "users": [
        "Users[].UserName", "Users[*].UserName", "Users[0].UserName", "Users[-1].Arn", "Users[5]", "Users[0]",
        "Users[*].[UserName, Path]", "Users[].{Name: UserName, Id: UserId}", "Users[?Path=='/'].UserName",
        "Users[?Path!='/'].UserName", "Users[?CreateDate > `1700000060`].UserName", "Users[?CreateDate >= `1700000050`] | length(@)",
        "length(Users)", "length(Users[?Tags])", "Users[].Tags[].Value", "Users[].Tags[?Key=='team'].Value", "Users[].Tags[?Key=='team'].Value[]",
        "Users[?Tags[?Value=='ads']].UserName", "Users[0:2].UserName", "Users[::-1].UserName", "Users[1:].UserName",
        "sort_by(Users, &CreateDate)[].UserName", "max_by(Users, &CreateDate).UserName", "min_by(Users, &CreateDate).UserName",
        "Users[?starts_with(UserName, 'a')].UserName", "Users[?contains(Arn, 'team')].UserName", "join(', ', Users[].UserName)",
        "Users[].UserName | sort(@)", "Users[].UserName | reverse(@)", "Users[].UserName | [0]", "Users[].UserName[0]",
        "IsTruncated", "Marker", "Users[?UserName=='nobody']", "Users[?UserName=='nobody'] | [0]", "Users[?!Tags].UserName",
        "Users[?Path=='/' && UserName!='admin'].UserName", "Users[?Path=='/team/' || UserName=='admin'].UserName",
        "Users[*].Tags", "Users[*].Tags[*].Key", "sort(keys(Users[0]))", "Users[0].* | length(@)", "{n: length(Users), first: Users[0].UserName}",
        "Users[].[UserName, Tags[0].Value]", "Users[?UserName==`\"admin\"`].UserId", "*.UserName", "Users[].CreateDate | max(@)", "Users[].CreateDate | sum(@)",
        "Users[].CreateDate | avg(@)", "to_string(IsTruncated)", "type(Users)", "not_null(Marker, IsTruncated)", "Users[].UserName | contains(@, 'analyst')",
        "Users[0].UserName | length(@)", "Users[?UserName==`analyst`].UserId", "Users[?UserName==` analyst `].UserId",
        "Users[?UserName > 'b'].UserName", "Users[?UserName <= 'analyst'].UserName", "Users[?Arn >= 'arn:aws:iam::111111111111:user/m'].UserName", "Users.UserName", "\"Users\"[0].\"UserName\"",
    ],
    "jobs": [
        "audienceGenerationJobs[?status=='ACTIVE'].name", "audienceGenerationJobs[].sizes[]", "audienceGenerationJobs[].sizes",
        "audienceGenerationJobs[].metrics.recall", "audienceGenerationJobs[?metrics].name", "audienceGenerationJobs[?sizes].name",
        "audienceGenerationJobs[?ends_with(status, '_FAILED')].name", "nextToken", "audienceGenerationJobs[?length(sizes) > `1`].name",
        "audienceGenerationJobs[].[name, status] | [?[1]=='ACTIVE']", "audienceGenerationJobs | [?status!='ACTIVE'] | length(@)",
        "audienceGenerationJobs[].{n: name, s: sizes[0]}", "audienceGenerationJobs[*].metrics", "audienceGenerationJobs[0].sizes[-1]",
    ],
    "nested": [
        "a.b.c", "a.b.c[0]", "a.b.c[-2]", "a.b.c[1:3]", "a.b.c[::2]", "a.b.c[5:1:-2]", "a.b.c[-2:]", "a.b.c[:-4]", "m[]", "m[][]", "m[1][1][0]",
        "o.*", "o.*.w", "keys(o)", "values(o)", "s", "length(s)", "reverse(s)", "n", "e", "t", "f", "z", "\"weird key\"", "nums | sort(@)",
        "strs | sort(@)", "max(strs)", "min(nums)", "abs(`-3`)", "floor(`2.5`)", "ceil(`2.5`)", "to_number('12')", "to_number('x')", "to_array(s)",
        "@", "[n, e, t, f, z]", "{a: n, b: e}", "n || e", "e || s", "z && s", "t && s", "!e", "!n", "`[1, 2]` | [0]", "'raw'", "`\"lit\"`",
        "a.b.c[?@ > `3`]", "m[?@ == `6`]", "length(@)", "nums[?@ >= `2`] | sort(@)", "a.x.y.z", "z.a", "s.a", "s[0]", "o[0]", "o[*]", "m[*][0]",
        "[a.b.c[0], s]", "a.{first: b.c[0], last: b.c[-1]}", "nums[0] < nums[1]", "s < t", "s == 'hello'", "o == `{\"x\": 1, \"y\": 2, \"z\": {\"w\": 3}}`",
        "to_string(nums)", "strs[?@ < 'b']", "'a\\\\b'", "'it\\'s'", "type(z)", "type(t)", "sum(nums)", "contains(strs, 'a')", "length(o)",
        # errors
        "Users[", "a.", "a ==", "foo(@)", "length()", "length(`1`)", "sort(`[1, \"a\"]`)", "a = b", "[?", "a.b.[", "'open", "a..b",
    ],
}

docs = {"users": users, "jobs": jobs, "nested": nested}
out = []
for name, exprs in cases.items():
    for e in exprs:
        try:
            result = jmespath.search(e, docs[name])
            out.append({"document": name, "expression": e, "result": result})
        except Exception as ex:
            out.append({"document": name, "expression": e, "error": type(ex).__name__})
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "JMESPathTests", "vectors.json")
with open(path, "w") as f:
    json.dump({"documents": docs, "cases": out, "generator": "scripts/gen-jmespath-vectors.py", "jmespath": jmespath.__version__}, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"{len(out)} cases written to {os.path.normpath(path)}")
