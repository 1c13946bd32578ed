//! Sample values from the JSON Schemas of an OpenAPI document: for each schema a value it
//! accepts (consts, enums, formats, bounds, lengths, simple patterns, required properties,
//! discriminators), or the reason none can be made. The Prism test sends them as request
//! parameters and bodies, so that a request Prism rejects is the generated client's doing.

use serde_json::{Map, Value, json};

/// A value, or why the sampler cannot make one.
pub type Sampled = Result<Value, String>;

/// How deep optional properties are still filled in (0 = the body itself).
const OPTIONAL_DEPTH: usize = 3;

/// How many times one `$ref` may be open on the way down (recursion is cut after that).
const REF_REPEATS: usize = 2;

/// A document's schemas, with its local `$ref`s resolved.
pub struct Schemas<'d> {
    root: &'d Value,
}

/// Where the sampler is: how deep, and which `$ref`s it is inside.
#[derive(Clone, Default)]
struct Walk {
    depth: usize,
    refs: Vec<String>,
}

impl<'d> Schemas<'d> {
    /// The schemas of the document whose root value is `root`.
    pub fn new(root: &'d Value) -> Self {
        Schemas { root }
    }

    /// The document's root value.
    pub fn root(&self) -> &'d Value {
        self.root
    }

    /// The value a local `$ref` (`#/components/schemas/Pet`) points at.
    pub fn lookup(&self, reference: &str) -> Result<&'d Value, String> {
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(format!("`{reference}` is not a local reference"));
        };
        let pointer = percent_decode(pointer);
        self.root
            .pointer(&pointer)
            .ok_or_else(|| format!("`{reference}` points at nothing"))
    }

    /// `value`, or what its `$ref` chain ends at (for parameters, bodies, responses).
    pub fn resolve(&self, mut value: &'d Value) -> Result<&'d Value, String> {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => value = self.lookup(reference)?,
                None => return Ok(value),
            }
        }
        Err("a `$ref` chain longer than 32".to_owned())
    }

    /// A value `schema` accepts, as a request would send it.
    pub fn sample(&self, schema: &Value) -> Sampled {
        self.value(schema, &Walk::default())
    }

    fn value(&self, schema: &Value, walk: &Walk) -> Sampled {
        let object = match schema {
            Value::Bool(true) => return Ok(json!("sample")),
            Value::Bool(false) => return Err("the schema `false` accepts nothing".to_owned()),
            Value::Object(object) => object,
            _ => return Err(format!("not a schema: {schema}")),
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            let repeats = walk.refs.iter().filter(|r| *r == reference).count();
            if repeats >= REF_REPEATS {
                return Err(format!("`{reference}` is recursive"));
            }
            let target = self.lookup(reference)?;
            let mut inner = walk.clone();
            inner.refs.push(reference.to_owned());
            let siblings: Map<String, Value> = object
                .iter()
                .filter(|(k, _)| k.as_str() != "$ref" && constrains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if siblings.is_empty() {
                return self.value(target, &inner);
            }
            let merged = self.merge(&[target.clone(), Value::Object(siblings)], &inner)?;
            return self.value(&merged, &inner);
        }
        if let Some(Value::Array(members)) = object.get("allOf") {
            let mut rest = object.clone();
            rest.remove("allOf");
            let mut all = members.clone();
            all.push(Value::Object(rest));
            let merged = self.merge(&all, walk)?;
            return self.value(&merged, walk);
        }
        if let Some(value) = object.get("const") {
            return Ok(value.clone());
        }
        if let Some(Value::Array(values)) = object.get("enum") {
            return values
                .iter()
                .find(|v| !v.is_null())
                .cloned()
                .ok_or_else(|| "an enum of null only".to_owned());
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = object.get(key) {
                return self.union(object, key, branches, walk);
            }
        }
        match type_of(object).as_deref() {
            Some("object") => self.object(object, walk),
            Some("array") => self.array(object, walk),
            Some("string") => string(object),
            Some("integer") => integer(object),
            Some("number") => number(object),
            Some("boolean") => Ok(object
                .get("default")
                .filter(|d| d.is_boolean())
                .cloned()
                .unwrap_or(Value::Bool(false))),
            Some("null") => Ok(Value::Null),
            Some(other) => Err(format!("unknown type `{other}`")),
            None => Ok(json!("sample")),
        }
    }

    /// One branch of a `oneOf`/`anyOf` (the first that can be sampled, null ones last), with
    /// the discriminator set to the name that selects it, and the properties beside the union
    /// merged in.
    fn union(
        &self,
        object: &Map<String, Value>,
        key: &str,
        branches: &[Value],
        walk: &Walk,
    ) -> Sampled {
        let mut rest = object.clone();
        rest.remove(key);
        rest.remove("discriminator");
        let rest_constrains = rest.keys().any(|k| constrains(k) && k != "type");
        let discriminator = object.get("discriminator");
        let mut reasons = Vec::new();
        let mut ordered: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
        ordered.extend(branches.iter().filter(|b| is_null(b)));
        for branch in ordered {
            let merged;
            let schema = if rest_constrains {
                merged = self.merge(&[Value::Object(rest.clone()), branch.clone()], walk)?;
                &merged
            } else {
                branch
            };
            match self.value(schema, walk) {
                Ok(mut value) => {
                    // `oneOf: [{required: [a]}, {required: [b]}]` beside `properties`: exactly
                    // one branch may match, so leave out what only the others require.
                    if key == "oneOf"
                        && let Value::Object(fields) = &mut value
                    {
                        let own = self.required_names(branch);
                        for other in branches.iter().filter(|b| *b != branch) {
                            for name in self.required_names(other) {
                                if !own.contains(&name) {
                                    fields.remove(&name);
                                }
                            }
                        }
                    }
                    if let (Some(discriminator), Some(Value::Object(fields))) =
                        (discriminator, Some(&mut value))
                    {
                        self.discriminate(discriminator, branch, fields);
                    }
                    return Ok(value);
                }
                Err(reason) => reasons.push(reason),
            }
        }
        Err(format!(
            "no branch of the {key} can be sampled: {}",
            reasons.join("; ")
        ))
    }

    /// The names a schema's `required` lists (through a `$ref`).
    fn required_names(&self, schema: &Value) -> Vec<String> {
        self.resolve(schema)
            .ok()
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Set the discriminator property to the mapping key (or component name) of `branch`,
    /// unless the branch pinned it already and the value has it. OpenAPI wants the property
    /// present even where the schema leaves it optional.
    fn discriminate(&self, discriminator: &Value, branch: &Value, fields: &mut Map<String, Value>) {
        let Some(property) = discriminator.get("propertyName").and_then(Value::as_str) else {
            return;
        };
        let Some(reference) = branch.get("$ref").and_then(Value::as_str) else {
            return;
        };
        let pinned = self
            .resolve(branch)
            .ok()
            .and_then(|b| b.get("properties"))
            .and_then(|p| p.get(property))
            .and_then(|p| self.resolve(p).ok())
            .and_then(|p| {
                p.get("const")
                    .or_else(|| p.get("enum").and_then(|e| e.get(0)))
                    .cloned()
            });
        if let Some(pinned) = pinned {
            fields.entry(property.to_owned()).or_insert(pinned);
            return;
        }
        let mapped = discriminator
            .get("mapping")
            .and_then(Value::as_object)
            .and_then(|mapping| {
                mapping
                    .iter()
                    .find(|(_, target)| target.as_str() == Some(reference))
                    .map(|(name, _)| name.clone())
            });
        let name =
            mapped.unwrap_or_else(|| reference.rsplit('/').next().unwrap_or(reference).to_owned());
        fields.insert(property.to_owned(), Value::String(name));
    }

    /// The members of an `allOf` (and `$ref` siblings) as one schema: properties and
    /// `required` united, other keywords from the first member that has them.
    fn merge(&self, members: &[Value], walk: &Walk) -> Result<Value, String> {
        let mut merged = Map::new();
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        let mut flat = Vec::new();
        self.flatten(members, walk, &mut flat, 0)?;
        for member in flat {
            let Value::Object(member) = member else {
                continue;
            };
            for (key, value) in member {
                match key.as_str() {
                    "properties" => {
                        if let Value::Object(props) = value {
                            for (name, schema) in props {
                                match properties.get_mut(&name) {
                                    Some(existing) => {
                                        *existing = json!({ "allOf": [existing.clone(), schema] });
                                    }
                                    None => {
                                        properties.insert(name, schema);
                                    }
                                }
                            }
                        }
                    }
                    "required" => {
                        if let Value::Array(names) = value {
                            for name in names {
                                if !required.contains(&name) {
                                    required.push(name);
                                }
                            }
                        }
                    }
                    _ => {
                        merged.entry(key).or_insert(value);
                    }
                }
            }
        }
        if !properties.is_empty() {
            merged.insert("properties".to_owned(), Value::Object(properties));
            merged
                .entry("type".to_owned())
                .or_insert_with(|| json!("object"));
        }
        if !required.is_empty() {
            merged.insert("required".to_owned(), Value::Array(required));
        }
        Ok(Value::Object(merged))
    }

    /// `members` with `$ref`s and nested `allOf`s opened, in order.
    fn flatten(
        &self,
        members: &[Value],
        walk: &Walk,
        out: &mut Vec<Value>,
        level: usize,
    ) -> Result<(), String> {
        if level > 16 {
            return Err("`allOf` nested more than 16 deep".to_owned());
        }
        for member in members {
            let Value::Object(object) = member else {
                out.push(member.clone());
                continue;
            };
            if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
                if walk.refs.iter().filter(|r| *r == reference).count() >= REF_REPEATS {
                    return Err(format!("`{reference}` is recursive"));
                }
                let target = self.lookup(reference)?;
                let rest: Map<String, Value> = object
                    .iter()
                    .filter(|(k, _)| k.as_str() != "$ref")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.flatten(std::slice::from_ref(target), walk, out, level + 1)?;
                out.push(Value::Object(rest));
                continue;
            }
            if let Some(Value::Array(inner)) = object.get("allOf") {
                let mut rest = object.clone();
                rest.remove("allOf");
                self.flatten(inner, walk, out, level + 1)?;
                out.push(Value::Object(rest));
                continue;
            }
            out.push(member.clone());
        }
        Ok(())
    }

    fn object(&self, object: &Map<String, Value>, walk: &Walk) -> Sampled {
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        let inner = Walk {
            depth: walk.depth + 1,
            refs: walk.refs.clone(),
        };
        let properties = object.get("properties").and_then(Value::as_object);
        for (name, schema) in properties.into_iter().flatten() {
            let must = required.contains(&name.as_str());
            if must {
                let value = self
                    .value(schema, &inner)
                    .map_err(|reason| format!("property `{name}`: {reason}"))?;
                out.insert(name.clone(), value);
            } else if walk.depth < OPTIONAL_DEPTH
                && !self.read_only(schema)
                && let Ok(value) = self.value(schema, &inner)
            {
                out.insert(name.clone(), value);
            }
        }
        for name in &required {
            if !out.contains_key(*name) {
                let value = match object.get("additionalProperties") {
                    Some(schema @ Value::Object(_)) => self
                        .value(schema, &inner)
                        .map_err(|reason| format!("property `{name}`: {reason}"))?,
                    _ => json!("sample"),
                };
                out.insert((*name).to_owned(), value);
            }
        }
        let map_values = match object.get("additionalProperties") {
            Some(schema @ Value::Object(_)) => Some(schema),
            _ => None,
        };
        let min = object
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        if let Some(schema) = map_values {
            let wanted = if properties.is_none_or(Map::is_empty) {
                min.max(1)
            } else {
                min
            };
            let mut n = 1;
            while out.len() < wanted {
                match self.value(schema, &inner) {
                    Ok(value) => {
                        out.insert(format!("key{n}"), value);
                        n += 1;
                    }
                    Err(reason) if out.len() < min => {
                        return Err(format!("an additional property: {reason}"));
                    }
                    Err(_) => break,
                }
            }
        } else if out.len() < min {
            return Err(format!(
                "needs {min} properties, and only {} can be sampled",
                out.len()
            ));
        }
        Ok(Value::Object(out))
    }

    fn read_only(&self, schema: &Value) -> bool {
        let schema = self.resolve(schema).unwrap_or(schema);
        schema.get("readOnly") == Some(&Value::Bool(true))
    }

    fn array(&self, object: &Map<String, Value>, walk: &Walk) -> Sampled {
        let inner = Walk {
            depth: walk.depth + 1,
            refs: walk.refs.clone(),
        };
        if let Some(Value::Array(prefix)) = object.get("prefixItems") {
            return prefix
                .iter()
                .map(|item| self.value(item, &inner))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array);
        }
        let min = object.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = object.get("maxItems").and_then(Value::as_u64);
        let count = min.max(1).min(max.unwrap_or(u64::MAX));
        let Some(items) = object.get("items") else {
            return Ok(Value::Array(vec![json!("sample"); count as usize]));
        };
        let mut out = Vec::new();
        for _ in 0..count {
            match self.value(items, &inner) {
                Ok(value) => out.push(value),
                Err(_) if min == 0 => return Ok(Value::Array(Vec::new())),
                Err(reason) => return Err(format!("an item: {reason}")),
            }
        }
        Ok(Value::Array(out))
    }
}

/// Does a keyword change what a schema accepts (as opposed to documenting it)?
fn constrains(keyword: &str) -> bool {
    !matches!(
        keyword,
        "description"
            | "title"
            | "summary"
            | "example"
            | "examples"
            | "default"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
            | "nullable"
            | "externalDocs"
            | "xml"
            | "$comment"
    ) && !keyword.starts_with("x-")
}

/// Is a union branch only `null`?
fn is_null(branch: &Value) -> bool {
    branch.get("type").and_then(Value::as_str) == Some("null")
        || branch.get("enum").is_some_and(|e| e == &json!([null]))
}

/// The schema's type: `type` (the first non-null of a list), else guessed from its keywords.
fn type_of(object: &Map<String, Value>) -> Option<String> {
    match object.get("type") {
        Some(Value::String(ty)) => return Some(ty.clone()),
        Some(Value::Array(types)) => {
            let mut names = types.iter().filter_map(Value::as_str);
            let first = names.clone().find(|t| *t != "null");
            return first.or_else(|| names.next()).map(str::to_owned);
        }
        _ => {}
    }
    if object.contains_key("properties")
        || object.contains_key("additionalProperties")
        || object.contains_key("required")
    {
        Some("object".to_owned())
    } else if object.contains_key("items") || object.contains_key("prefixItems") {
        Some("array".to_owned())
    } else if ["pattern", "format", "minLength", "maxLength"]
        .iter()
        .any(|k| object.contains_key(*k))
    {
        Some("string".to_owned())
    } else if ["minimum", "maximum", "multipleOf"]
        .iter()
        .any(|k| object.contains_key(*k))
    {
        Some("number".to_owned())
    } else {
        None
    }
}

fn string(object: &Map<String, Value>) -> Sampled {
    let min = object.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = object
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    if let Some(pattern) = object.get("pattern").and_then(Value::as_str) {
        return match pattern_sample(pattern, min) {
            Ok(text) => Ok(Value::String(text)),
            Err(reason) => {
                let given = ["default", "example"]
                    .iter()
                    .filter_map(|k| object.get(*k))
                    .chain(
                        object
                            .get("examples")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    )
                    .find(|v| v.is_string());
                given.cloned().ok_or_else(|| {
                    format!("pattern `{pattern}`: {reason}, and no example or default to use")
                })
            }
        };
    }
    let format = object.get("format").and_then(Value::as_str).unwrap_or("");
    let mut text = match format {
        "date-time" => "2024-05-06T07:08:09Z",
        "date" => "2024-05-06",
        "time" => "07:08:09Z",
        "duration" => "P1D",
        "uuid" => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "email" | "idn-email" => "user@example.com",
        "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => "https://example.com/sample",
        "hostname" | "idn-hostname" => "example.com",
        "ipv4" => "127.0.0.1",
        "ipv6" => "::1",
        "byte" => "c2FtcGxl",
        "int32" | "int64" => "1",
        _ => "sample",
    }
    .to_owned();
    if text.len() < min {
        if format.is_empty() || format == "binary" || format == "password" {
            text.extend(std::iter::repeat_n('x', min - text.len()));
        } else {
            return Err(format!(
                "format `{format}` with minLength {min} is not sampled"
            ));
        }
    }
    if let Some(max) = max
        && text.len() > max
    {
        if format.is_empty() || format == "binary" || format == "password" {
            text.truncate(max);
        } else {
            return Err(format!(
                "format `{format}` with maxLength {max} is not sampled"
            ));
        }
    }
    Ok(Value::String(text))
}

/// The bounds of a number: (lowest allowed, highest allowed), exclusive bounds of both the
/// 3.0 (boolean) and 3.1 (number) forms taken in by `step`.
fn bounds(object: &Map<String, Value>, step: f64) -> (Option<f64>, Option<f64>) {
    let number = |k: &str| object.get(k).and_then(Value::as_f64);
    let flag = |k: &str| object.get(k) == Some(&Value::Bool(true));
    let mut low = number("minimum");
    let mut high = number("maximum");
    if flag("exclusiveMinimum") {
        low = low.map(|l| l + step);
    }
    if flag("exclusiveMaximum") {
        high = high.map(|h| h - step);
    }
    if let Some(l) = number("exclusiveMinimum") {
        low = Some(low.map_or(l + step, |m| m.max(l + step)));
    }
    if let Some(h) = number("exclusiveMaximum") {
        high = Some(high.map_or(h - step, |m| m.min(h - step)));
    }
    (low, high)
}

fn integer(object: &Map<String, Value>) -> Sampled {
    let (low, high) = bounds(object, 1.0);
    let mut value = match (low, high) {
        (Some(low), _) => low.ceil(),
        (None, Some(high)) if high < 1.0 => high.floor(),
        _ => 1.0,
    };
    if let Some(step) = object.get("multipleOf").and_then(Value::as_f64)
        && step > 0.0
    {
        value = (value / step).ceil() * step;
    }
    if let Some(high) = high
        && value > high
    {
        return Err(format!("no integer in the bounds {low:?}..={high}"));
    }
    Ok(json!(value as i64))
}

fn number(object: &Map<String, Value>) -> Sampled {
    let (low, high) = bounds(object, 0.001);
    let value = match (low, high) {
        (Some(low), Some(high)) => low + (high - low) / 2.0,
        (Some(low), None) => low + 0.5,
        (None, Some(high)) => high - 0.5,
        (None, None) => 1.5,
    };
    if let Some(step) = object.get("multipleOf").and_then(Value::as_f64)
        && step > 0.0
    {
        let low = low.unwrap_or(0.0);
        let value = (low / step).ceil() * step;
        return Ok(json!(value));
    }
    Ok(json!(value))
}

/// Percent-decoding of a `$ref`'s fragment (`%7B` → `{`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The shortest string of at least `min` characters matching a simple regular expression:
/// anchors, literals, escapes (`\d`, `\w`, `\s`, `\.`, `\/`…), classes (`[a-z0-9_-]`, not
/// negated), groups with alternatives (the first is taken), and the quantifiers `?`, `*`,
/// `+`, `{n}`, `{n,}`, `{n,m}`. Anything else is an error naming it.
pub fn pattern_sample(pattern: &str, min: usize) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut parser = Pattern {
        chars: &chars,
        at: 0,
    };
    let node = parser.alternatives()?;
    if parser.at != chars.len() {
        return Err(format!("unsupported syntax at `{}`", parser.rest()));
    }
    if !pattern.starts_with('^') {
        // Unanchored: any text containing a match matches; pad in front.
        let mut text = node.shortest();
        if text.chars().count() < min {
            let pad = min - text.chars().count();
            text = "x".repeat(pad) + &text;
        }
        return Ok(text);
    }
    let mut text = node.shortest();
    if text.chars().count() < min {
        text = node
            .longer(min)
            .ok_or_else(|| format!("no match of at least {min} characters found by repeating"))?;
    }
    if !pattern.ends_with('$') && text.chars().count() < min {
        text.extend(std::iter::repeat_n('x', min - text.chars().count()));
    }
    Ok(text)
}

/// A parsed simple regular expression.
#[derive(Clone, Debug)]
enum Node {
    /// One character from this set (the first is used).
    Class(Vec<char>),
    /// A sequence.
    Seq(Vec<Node>),
    /// Alternatives (the first is used).
    Alt(Vec<Node>),
    /// A repetition.
    Repeat(Box<Node>, usize, Option<usize>),
    /// An anchor: matches the empty string.
    Empty,
}

impl Node {
    fn shortest(&self) -> String {
        match self {
            Node::Class(set) => set.first().map(|c| c.to_string()).unwrap_or_default(),
            Node::Seq(items) => items.iter().map(Node::shortest).collect(),
            Node::Alt(options) => options.first().map(Node::shortest).unwrap_or_default(),
            Node::Repeat(node, low, _) => node.shortest().repeat(*low),
            Node::Empty => String::new(),
        }
    }

    /// A match of at least `min` characters, repeating the last open-ended repetition.
    fn longer(&self, min: usize) -> Option<String> {
        let short = self.shortest();
        let missing = min.checked_sub(short.chars().count())?;
        let mut grown = self.clone();
        grown.grow(missing).then(|| grown.shortest())
    }

    /// Raise the lower bound of a repetition that allows it by `by` characters' worth.
    fn grow(&mut self, by: usize) -> bool {
        match self {
            Node::Seq(items) => items.iter_mut().rev().any(|item| item.grow(by)),
            Node::Alt(options) => options.first_mut().is_some_and(|o| o.grow(by)),
            Node::Repeat(node, low, high) => {
                let unit = node.shortest().chars().count().max(1);
                let more = by.div_ceil(unit);
                if high.is_none_or(|h| *low + more <= h) {
                    *low += more;
                    true
                } else {
                    node.grow(by)
                }
            }
            Node::Class(_) | Node::Empty => false,
        }
    }
}

struct Pattern<'p> {
    chars: &'p [char],
    at: usize,
}

impl Pattern<'_> {
    fn rest(&self) -> String {
        self.chars[self.at..].iter().collect()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn alternatives(&mut self) -> Result<Node, String> {
        let mut options = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.at += 1;
            options.push(self.sequence()?);
        }
        Ok(if options.len() == 1 {
            options.remove(0)
        } else {
            Node::Alt(options)
        })
    }

    fn sequence(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            items.push(atom);
        }
        Ok(Node::Seq(items))
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.peek().ok_or("unexpected end")?;
        self.at += 1;
        match c {
            '^' | '$' => Ok(Node::Empty),
            '.' => Ok(Node::Class(vec!['a'])),
            '(' => {
                if self.chars[self.at..].starts_with(&['?', ':']) {
                    self.at += 2;
                } else if self.peek() == Some('?') {
                    return Err(format!("unsupported group at `({}`", self.rest()));
                }
                let inner = self.alternatives()?;
                if self.peek() != Some(')') {
                    return Err("an unclosed group".to_owned());
                }
                self.at += 1;
                Ok(inner)
            }
            '[' => self.class(),
            '\\' => {
                let escaped = self.peek().ok_or("a trailing backslash")?;
                self.at += 1;
                Ok(Node::Class(escape_class(escaped)?))
            }
            '*' | '+' | '?' | '{' | ')' | ']' | '}' => {
                Err(format!("unsupported syntax at `{c}{}`", self.rest()))
            }
            c => Ok(Node::Class(vec![c])),
        }
    }

    fn class(&mut self) -> Result<Node, String> {
        if self.peek() == Some('^') {
            return Err("a negated character class".to_owned());
        }
        let mut set = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek().ok_or("an unclosed character class")?;
            self.at += 1;
            match c {
                ']' if !first => break,
                '\\' => {
                    let escaped = self.peek().ok_or("a trailing backslash")?;
                    self.at += 1;
                    set.extend(escape_class(escaped)?);
                }
                c => {
                    if self.peek() == Some('-')
                        && self.chars.get(self.at + 1).is_some_and(|n| *n != ']')
                    {
                        let end = self.chars[self.at + 1];
                        self.at += 2;
                        if end < c {
                            return Err(format!("a reversed range `{c}-{end}`"));
                        }
                        set.push(c);
                    } else {
                        set.push(c);
                    }
                }
            }
            first = false;
        }
        // Prefer a letter or digit for the sample, so the text reads plainly.
        set.sort_by_key(|c| !c.is_ascii_alphanumeric());
        Ok(Node::Class(set))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (low, high) = match self.peek() {
            Some('?') => (0, Some(1)),
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('{') => {
                let close = self.chars[self.at..]
                    .iter()
                    .position(|c| *c == '}')
                    .ok_or("an unclosed `{`")?;
                let inside: String = self.chars[self.at + 1..self.at + close].iter().collect();
                self.at += close;
                let (low, high) = match inside.split_once(',') {
                    None => {
                        let n = inside
                            .trim()
                            .parse()
                            .map_err(|_| format!("`{{{inside}}}`"))?;
                        (n, Some(n))
                    }
                    Some((low, high)) => {
                        let low = low.trim().parse().map_err(|_| format!("`{{{inside}}}`"))?;
                        let high = if high.trim().is_empty() {
                            None
                        } else {
                            Some(high.trim().parse().map_err(|_| format!("`{{{inside}}}`"))?)
                        };
                        (low, high)
                    }
                };
                (low, high)
            }
            _ => return Ok(atom),
        };
        self.at += 1;
        if self.peek() == Some('?') {
            self.at += 1; // lazy: same language
        }
        Ok(Node::Repeat(Box::new(atom), low, high))
    }
}

/// The characters an escape stands for (the first is used in samples).
fn escape_class(c: char) -> Result<Vec<char>, String> {
    Ok(match c {
        'd' => vec!['0'],
        'w' => vec!['a'],
        's' => vec![' '],
        'D' | 'W' | 'S' | 'b' | 'B' => return Err(format!("the escape `\\{c}`")),
        'n' => vec!['\n'],
        't' => vec!['\t'],
        c if c.is_ascii_alphanumeric() => return Err(format!("the escape `\\{c}`")),
        c => vec![c],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_of_the_corpus_are_sampled() {
        let cases = [
            ("^[a-zA-Z0-9_-]+$", 0, "a"),
            ("^[0-9]{1,18}$", 0, "0"),
            (
                "^agent-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                0,
                "agent-00000000-0000-4000-8000-000000000000",
            ),
            ("^(http|https):\\/\\/", 0, "http://"),
            ("^custom:.+", 0, "custom:a"),
            ("^[a-zA-Z0-9_-]{1,256}$", 3, "aaa"),
            (
                "^tunnel_[a-z0-9]{32}$",
                0,
                "tunnel_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
        ];
        for (pattern, min, expected) in cases {
            assert_eq!(
                pattern_sample(pattern, min).as_deref(),
                Ok(expected),
                "{pattern}"
            );
        }
        assert!(pattern_sample("^[^a]+$", 0).is_err());
        assert!(pattern_sample("^(?=a)", 0).is_err());
    }

    #[test]
    fn schemas_are_sampled_within_their_constraints() {
        let root = json!({
            "components": {"schemas": {
                "Cat": {"type": "object", "required": ["kind", "lives"],
                        "properties": {"kind": {"type": "string"}, "lives": {"type": "integer", "minimum": 1, "maximum": 9}}},
                "Dog": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
                "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}}
            }}
        });
        let schemas = Schemas::new(&root);
        let pet = json!({
            "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
            "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}}
        });
        assert_eq!(schemas.sample(&pet), Ok(json!({"kind": "cat", "lives": 1})));
        assert_eq!(
            schemas.sample(&json!({"type": "integer", "exclusiveMinimum": 4, "multipleOf": 3})),
            Ok(json!(6))
        );
        assert_eq!(
            schemas.sample(&json!({"type": "string", "minLength": 8, "maxLength": 9})),
            Ok(json!("samplexx"))
        );
        assert_eq!(
            schemas.sample(&json!({"allOf": [{"$ref": "#/components/schemas/Dog"}, {"properties": {"age": {"type": "number", "maximum": 2}}, "required": ["age"]}]})),
            Ok(json!({"kind": "sample", "age": 1.5}))
        );
        // Recursion stops at the second visit of a reference.
        let node = schemas
            .sample(&json!({"$ref": "#/components/schemas/Node"}))
            .unwrap();
        assert_eq!(node, json!({"next": {}}));
        assert!(
            schemas
                .sample(&json!({"type": "integer", "minimum": 3, "maximum": 2}))
                .is_err()
        );
    }
}
