//! A reader over a parsed TOML document that turns every problem into a diagnostic.
//!
//! The table readers (`root.rs`, `workload_table.rs`, `resource.rs`, `write.rs`,
//! `expect.rs`) ask for keys by name and type; the reader answers with a
//! value (and where it was) or records what is wrong and answers `None`, so reading
//! carries on and one pass finds every unknown key, missing key and wrong type. Tables
//! are read the same way whether written as `[table]`, `{ inline }` or `dotted.keys`.

use std::time::Duration;

use serde_json::Value as Json;
use toml_edit::{Item, TableLike, Value};

use super::diagnostic::{Diagnostic, Site, Source};
use super::env::{interpolate, Context};

/// A key a table accepts, with an example line used in hints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySpec {
    pub name: &'static str,
    /// A line that sets the key, e.g. `writers = 16`. For a top-level section, a phrase
    /// starting with its header, e.g. `[expect] with winner = [200] and conflict = [412]`.
    pub example: &'static str,
}

/// A value with the byte offset it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned<T> {
    pub value: T,
    pub at: usize,
}

/// One table being read: a `[table]`, an inline table or a dotted-key table.
pub(crate) struct Table<'d> {
    table: &'d dyn TableLike,
    /// Dotted path from the root, empty for the root.
    path: String,
    /// Where a missing key is reported: the header or key; `None` for the root.
    at: Option<usize>,
    keys: &'static [KeySpec],
}

/// One key of a table and its value.
pub(crate) struct Field<'d> {
    pub item: &'d Item,
    /// The key as written (unquoted).
    pub key: &'d str,
    /// Path of the table that holds it.
    table_path: String,
    /// Where the key starts.
    pub key_at: usize,
    /// Where the value starts (for a `[table]`, its header).
    pub at: usize,
    /// An example line for hints.
    pub example: &'static str,
}

impl Table<'_> {
    /// Where a key of this table is, for messages: `in [resource.create]`, or
    /// `at the top level`.
    pub fn within(&self) -> String {
        if self.path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in [{}]", self.path)
        }
    }

    /// The byte offset where missing keys are reported (`None`: the file start).
    pub fn at(&self) -> Option<usize> {
        self.at
    }
}

impl<'d> Table<'d> {
    /// The key's field, if present.
    pub fn field(&self, key: &str) -> Option<Field<'d>> {
        let (k, item) = self.table.get_key_value(key)?;
        Some(self.make_field(k, item))
    }

    /// Every key of the table, in file order (for free-form maps like `headers`).
    pub fn fields(&self, example: &'static str) -> Vec<Field<'d>> {
        self.table
            .iter()
            .filter_map(|(name, _)| self.table.get_key_value(name))
            .map(|(k, item)| Field {
                example,
                ..self.make_field(k, item)
            })
            .collect()
    }

    fn make_field(&self, key: &'d toml_edit::Key, item: &'d Item) -> Field<'d> {
        let key_at = key.span().map(|s| s.start).or(self.at).unwrap_or_default();
        let at = match item {
            Item::Table(t) if t.is_dotted() => None,
            other => other.span().map(|s| s.start),
        }
        .unwrap_or(key_at);
        let example = self
            .keys
            .iter()
            .find(|k| k.name == key.get())
            .map_or("", |k| k.example);
        Field {
            item,
            key: key.get(),
            table_path: self.path.clone(),
            key_at,
            at,
            example,
        }
    }
}

impl Field<'_> {
    /// How messages name this key: `` `writers` in [workload] ``.
    pub fn describe(&self) -> String {
        if self.table_path.is_empty() {
            format!("`{}` at the top level", self.key)
        } else {
            format!("`{}` in [{}]", self.key, self.table_path)
        }
    }

    /// The dotted path of this key, for naming a table it holds.
    pub fn path(&self) -> String {
        join_path(&self.table_path, self.key)
    }
}

/// One element of a list read by [`Reader::elements`].
pub(crate) enum Element<'d> {
    /// A string, interpolated, with where it starts.
    Text(Spanned<String>),
    /// An inline table (its unknown keys already reported).
    Table(Table<'d>),
}

/// Reads one file's document, collecting diagnostics and secrets.
pub(crate) struct Reader<'a> {
    pub source: Source<'a>,
    env: &'a dyn Fn(&str) -> Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    pub secrets: Vec<String>,
    /// Keys that belong to one table only, and where that is (`in [workload]`): an
    /// unknown key found among them was most likely written under the wrong header.
    pub homes: &'static [(&'static str, &'static str)],
    /// The captures of the set-up steps read so far, by name: the placeholders they add
    /// to every later template.
    pub captures: Vec<String>,
    /// Every capture any set-up step makes, with its step's name, found before the steps
    /// are read: a placeholder a later step captures is told so.
    pub all_captures: Vec<(String, String)>,
}

impl<'a> Reader<'a> {
    /// A reader for `source`, looking environment variables up with `env`.
    pub fn new(source: Source<'a>, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Reader {
            source,
            env,
            diagnostics: Vec::new(),
            secrets: Vec::new(),
            homes: &[],
            captures: Vec::new(),
            all_captures: Vec::new(),
        }
    }

    /// Records a problem at a byte offset.
    pub fn error(
        &mut self,
        at: usize,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        let d = self.source.at(at, message.into(), hint.into());
        self.diagnostics.push(d);
    }

    /// Records a problem at the start of the file (1:1, no snippet).
    pub fn error_at_start(&mut self, message: impl Into<String>, hint: impl Into<Option<String>>) {
        let d = Site::file_start().diagnostic(self.source.file, message.into(), hint.into());
        self.diagnostics.push(d);
    }

    /// Records a problem at a table's header (or the file start for the root).
    pub fn error_at_table(
        &mut self,
        table: &Table<'_>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        match table.at {
            Some(at) => self.error(at, message, hint),
            None => self.error_at_start(message, hint),
        }
    }

    /// The root table; reports its unknown keys.
    pub fn root<'d>(&mut self, root: &'d toml_edit::Table, keys: &'static [KeySpec]) -> Table<'d> {
        let table = Table {
            table: root,
            path: String::new(),
            at: None,
            keys,
        };
        self.report_unknown_keys(&table);
        table
    }

    /// The field's value as a table of `keys`; reports a wrong type or unknown keys.
    pub fn table<'d>(&mut self, field: &Field<'d>, keys: &'static [KeySpec]) -> Option<Table<'d>> {
        let table = self.open(field, keys)?;
        self.report_unknown_keys(&table);
        Some(table)
    }

    /// The field's value as a list of tables of `keys`: an array of tables (`[[setup]]`),
    /// an array of inline tables, or, with `one_allowed`, a single table. Reports a wrong
    /// type or unknown keys; the tables come back in file order.
    pub fn tables<'d>(
        &mut self,
        field: &Field<'d>,
        keys: &'static [KeySpec],
        one_allowed: bool,
    ) -> Option<Vec<Table<'d>>> {
        let path = field.path();
        let mut out = Vec::new();
        match field.item {
            Item::ArrayOfTables(tables) => {
                for (i, t) in tables.iter().enumerate() {
                    out.push(Table {
                        table: t,
                        path: format!("{path}[{i}]"),
                        at: Some(t.span().map_or(field.key_at, |s| s.start)),
                        keys,
                    });
                }
            }
            Item::Value(Value::Array(array)) => {
                let mut ok = true;
                for (i, value) in array.iter().enumerate() {
                    let at = value.span().map_or(field.at, |s| s.start);
                    match value.as_inline_table() {
                        Some(t) => out.push(Table {
                            table: t,
                            path: format!("{path}[{i}]"),
                            at: Some(at),
                            keys,
                        }),
                        None => {
                            ok = false;
                            self.error(
                                at,
                                format!(
                                    "wrong type in {}: expected a table, found {}",
                                    field.describe(),
                                    value_type(value)
                                ),
                                format!("write each as [[{path}]] followed by its keys"),
                            );
                        }
                    }
                }
                if !ok {
                    return None;
                }
            }
            item if one_allowed && item.is_table_like() => {
                return self.table(field, keys).map(|t| vec![t]);
            }
            _ => {
                let expected = if one_allowed {
                    "a table or an array of tables"
                } else {
                    "an array of tables"
                };
                self.wrong_type(field, expected);
                return None;
            }
        }
        for table in &out {
            self.report_unknown_keys(table);
        }
        Some(out)
    }

    /// The field as a boolean.
    pub fn boolean(&mut self, field: &Field<'_>) -> Option<bool> {
        let value = field.item.as_bool();
        if value.is_none() {
            self.wrong_type(field, "a boolean (true or false)");
        }
        value
    }

    /// The field's value as a table with any keys (a map such as `headers`).
    pub fn map<'d>(&mut self, field: &Field<'d>) -> Option<Table<'d>> {
        self.open(field, &[])
    }

    fn open<'d>(&mut self, field: &Field<'d>, keys: &'static [KeySpec]) -> Option<Table<'d>> {
        let Some(table) = field.item.as_table_like() else {
            self.wrong_type(field, "a table");
            return None;
        };
        let at = match field.item {
            Item::Table(t) if !t.is_dotted() => t.span().map(|s| s.start),
            _ => None,
        };
        Some(Table {
            table,
            path: field.path(),
            at: Some(at.unwrap_or(field.key_at)),
            keys,
        })
    }

    fn report_unknown_keys(&mut self, table: &Table<'_>) {
        for (name, item) in table.table.iter() {
            if table.keys.iter().any(|k| k.name == name) {
                continue;
            }
            let at = table
                .table
                .key(name)
                .and_then(|k| k.span())
                .map(|s| s.start)
                .or(table.at)
                .unwrap_or_default();
            let valid: Vec<&str> = table.keys.iter().map(|k| k.name).collect();
            let home = self.homes.iter().find(|(key, _)| *key == name);
            // `connections = "fresh"`: a connection policy under another key's name.
            let policy = valid.contains(&"writer_connections")
                && item
                    .as_str()
                    .is_some_and(|v| v.parse::<super::model::ConnectionPolicy>().is_ok());
            let advice = match (home, did_you_mean(name, &valid)) {
                _ if policy => "did you mean `writer_connections`? ".to_string(),
                (None, Some(guess)) => format!("did you mean `{guess}`? "),
                (Some((_, home)), _) => format!(
                    "`{name}` belongs {home}; keys after a [section] header are part of \
                     that section, so move it there. "
                ),
                (None, None) => String::new(),
            };
            let hint = format!("{advice}valid keys: {}", valid.join(", "));
            self.error(at, format!("unknown key `{name}` {}", table.within()), hint);
        }
    }

    /// The field if present; otherwise reports it missing.
    pub fn required<'d>(&mut self, table: &Table<'d>, key: &str) -> Option<Field<'d>> {
        let field = table.field(key);
        if field.is_none() {
            let example = table
                .keys
                .iter()
                .find(|k| k.name == key)
                .map_or("", |k| k.example);
            let (message, hint) = if example.starts_with('[') {
                (
                    format!("missing required section [{}]", join_path(&table.path, key)),
                    format!("add a section {example}"),
                )
            } else {
                (
                    format!("missing required key `{key}` {}", table.within()),
                    format!("add it, e.g. {example}"),
                )
            };
            self.error_at_table(table, message, hint);
        }
        field
    }

    /// Reports that the field has the wrong type.
    pub fn wrong_type(&mut self, field: &Field<'_>, expected: &str) {
        let hint = if field.example.is_empty() {
            None
        } else if field.example.starts_with('[') {
            Some(format!("for example: a section {}", field.example))
        } else {
            Some(format!("for example: {}", field.example))
        };
        self.error(
            field.at,
            format!(
                "wrong type for {}: expected {expected}, found {}",
                field.describe(),
                item_type(field.item)
            ),
            hint,
        );
    }

    /// Interpolates environment references in a string found at `at`.
    pub fn interpolate(&mut self, text: &str, at: usize, context: Context) -> Option<String> {
        match interpolate(text, self.env, context) {
            Ok(done) => {
                for secret in done.secrets {
                    if !self.secrets.contains(&secret) {
                        self.secrets.push(secret);
                    }
                }
                Some(done.text)
            }
            Err(errors) => {
                for e in errors {
                    self.error(at, e.message, e.hint);
                }
                None
            }
        }
    }

    /// The field as a string, after environment interpolation.
    pub fn string(&mut self, field: &Field<'_>, context: Context) -> Option<Spanned<String>> {
        let Some(text) = field.item.as_str() else {
            self.wrong_type(field, "a string");
            return None;
        };
        let value = self.interpolate(text, field.at, context)?;
        Some(Spanned {
            value,
            at: field.at,
        })
    }

    /// The field as an integer in `min..=max`.
    pub fn u32(&mut self, field: &Field<'_>, min: u32, max: u32) -> Option<u32> {
        let Some(n) = field.item.as_integer() else {
            self.wrong_type(field, "an integer");
            return None;
        };
        match u32::try_from(n) {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let range = if max == u32::MAX {
                    format!("at least {min}")
                } else {
                    format!("between {min} and {max}")
                };
                let hint =
                    (!field.example.is_empty()).then(|| format!("for example: {}", field.example));
                self.error(
                    field.at,
                    format!("{} must be {range}, found {n}", field.describe()),
                    hint,
                );
                None
            }
        }
    }

    /// The field as a duration written like `"10s"` or `"500ms"`.
    pub fn duration(&mut self, field: &Field<'_>) -> Option<Spanned<Duration>> {
        if field.item.as_str().is_none() {
            self.wrong_type(field, "a duration string like \"10s\"");
            return None;
        }
        let text = self.string(field, Context::Plain)?;
        match humantime::parse_duration(text.value.trim()) {
            Ok(d) => Some(Spanned {
                value: d,
                at: text.at,
            }),
            Err(e) => {
                self.error(
                    text.at,
                    format!(
                        "invalid duration `{}` for {}: {e}",
                        text.value,
                        field.describe()
                    ),
                    "write a number and a unit, e.g. \"10s\", \"250ms\" or \"1m\"".to_string(),
                );
                None
            }
        }
    }

    /// The field as a duration greater than zero.
    pub fn positive_duration(&mut self, field: &Field<'_>) -> Option<Duration> {
        let duration = self.duration(field)?;
        if duration.value.is_zero() {
            self.error(
                duration.at,
                format!("{} must be greater than zero", field.describe()),
                format!("for example: {}", field.example),
            );
            return None;
        }
        Some(duration.value)
    }

    /// The field as a non-empty list of HTTP status codes (100..=599).
    pub fn statuses(&mut self, field: &Field<'_>) -> Option<Spanned<Vec<u16>>> {
        let Some(array) = field.item.as_array() else {
            let hint = match field.item.as_integer() {
                Some(n) => format!("write a list: {} = [{n}]", field.key),
                None => format!("for example: {}", field.example),
            };
            self.error(
                field.at,
                format!(
                    "wrong type for {}: expected a list of status codes, found {}",
                    field.describe(),
                    item_type(field.item)
                ),
                hint,
            );
            return None;
        };
        if array.is_empty() {
            self.error(
                field.at,
                format!(
                    "{} is empty: list at least one status code",
                    field.describe()
                ),
                format!("for example: {}", field.example),
            );
            return None;
        }
        let mut codes = Vec::new();
        let mut ok = true;
        for value in array.iter() {
            let at = value.span().map_or(field.at, |s| s.start);
            match value.as_integer() {
                Some(n) if (100..=599).contains(&n) => codes.push(n as u16),
                Some(n) => {
                    ok = false;
                    self.error(
                        at,
                        format!("{n} in {} is not an HTTP status code", field.describe()),
                        "status codes are between 100 and 599".to_string(),
                    );
                }
                None => {
                    ok = false;
                    self.error(
                        at,
                        format!(
                            "wrong type in {}: expected a status code (an integer), found {}",
                            field.describe(),
                            value_type(value)
                        ),
                        format!("for example: {}", field.example),
                    );
                }
            }
        }
        ok.then_some(Spanned {
            value: codes,
            at: field.at,
        })
    }

    /// The field as a list whose elements are strings or inline tables of `keys`; each
    /// element of another type is reported, naming what was `expected`.
    pub fn elements<'d>(
        &mut self,
        field: &Field<'d>,
        keys: &'static [KeySpec],
        expected: &str,
    ) -> Option<Vec<Element<'d>>> {
        let Some(array) = field.item.as_array() else {
            self.wrong_type(field, &format!("a list of {expected}"));
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, value) in array.iter().enumerate() {
            let at = value.span().map_or(field.at, |s| s.start);
            match value {
                Value::String(text) => match self.interpolate(text.value(), at, Context::Plain) {
                    Some(value) => out.push(Element::Text(Spanned { value, at })),
                    None => ok = false,
                },
                Value::InlineTable(t) if !keys.is_empty() => {
                    let table = Table {
                        table: t,
                        path: format!("{}[{i}]", field.path()),
                        at: Some(at),
                        keys,
                    };
                    self.report_unknown_keys(&table);
                    out.push(Element::Table(table));
                }
                other => {
                    ok = false;
                    let hint = (!field.example.is_empty())
                        .then(|| format!("for example: {}", field.example));
                    self.error(
                        at,
                        format!(
                            "wrong type in {}: expected {expected}, found {}",
                            field.describe(),
                            value_type(other)
                        ),
                        hint,
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// The field as JSON: any TOML value or table. String leaves are interpolated as
    /// templates and also returned with their offsets, for the caller to check.
    pub fn json(&mut self, field: &Field<'_>) -> Option<(Json, Vec<Spanned<String>>)> {
        let mut leaves = Vec::new();
        let before = self.diagnostics.len();
        let json = self.item_json(field.item, field.at, &mut leaves);
        (self.diagnostics.len() == before).then_some((json, leaves))
    }

    fn item_json(&mut self, item: &Item, at: usize, leaves: &mut Vec<Spanned<String>>) -> Json {
        match item {
            Item::None => Json::Null,
            Item::Value(v) => self.value_json(v, at, leaves),
            Item::Table(_) => self.table_json(item, at, leaves),
            Item::ArrayOfTables(tables) => Json::Array(
                tables
                    .iter()
                    .map(|t| {
                        let at = t.span().map_or(at, |s| s.start);
                        self.table_json_of(t, at, leaves)
                    })
                    .collect(),
            ),
        }
    }

    fn table_json(&mut self, item: &Item, at: usize, leaves: &mut Vec<Spanned<String>>) -> Json {
        match item.as_table_like() {
            Some(t) => self.table_json_of(t, at, leaves),
            None => Json::Null,
        }
    }

    fn table_json_of(
        &mut self,
        table: &dyn TableLike,
        at: usize,
        leaves: &mut Vec<Spanned<String>>,
    ) -> Json {
        let mut map = serde_json::Map::new();
        for (key, item) in table.iter() {
            let at = match item {
                Item::Table(t) if t.is_dotted() => None,
                other => other.span().map(|s| s.start),
            }
            .or_else(|| table.key(key).and_then(|k| k.span()).map(|s| s.start))
            .unwrap_or(at);
            let value = self.item_json(item, at, leaves);
            map.insert(key.to_string(), value);
        }
        Json::Object(map)
    }

    fn value_json(&mut self, value: &Value, at: usize, leaves: &mut Vec<Spanned<String>>) -> Json {
        let at = value.span().map_or(at, |s| s.start);
        match value {
            Value::String(s) => {
                let text = self
                    .interpolate(s.value(), at, Context::Template)
                    .unwrap_or_default();
                leaves.push(Spanned {
                    value: text.clone(),
                    at,
                });
                Json::String(text)
            }
            Value::Integer(n) => Json::from(*n.value()),
            Value::Float(f) => match serde_json::Number::from_f64(*f.value()) {
                Some(n) => Json::Number(n),
                None => {
                    self.error(
                        at,
                        format!("{} cannot be sent as JSON", f.value()),
                        "JSON has no NaN or infinity; use a string or a finite number".to_string(),
                    );
                    Json::Null
                }
            },
            Value::Boolean(b) => Json::Bool(*b.value()),
            Value::Datetime(d) => Json::String(d.value().to_string()),
            Value::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.value_json(v, at, leaves))
                    .collect(),
            ),
            Value::InlineTable(t) => self.table_json_of(t, at, leaves),
        }
    }
}

/// The closest valid key to a misspelt one, if it is close enough to suggest.
pub(crate) fn did_you_mean<'k>(wrong: &str, valid: &[&'k str]) -> Option<&'k str> {
    let wrong = wrong.to_ascii_lowercase();
    valid
        .iter()
        .map(|v| (*v, strsim::jaro_winkler(&wrong, &v.to_ascii_lowercase())))
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(v, _)| v)
}

/// "a, b and c": a list for messages.
pub(crate) fn list_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// "a string", "an integer", ...: the type of a TOML item, for messages.
pub(crate) fn item_type(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(v) => value_type(v),
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

fn value_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let valid = ["kind", "writers", "rounds", "increments", "retry"];
        assert_eq!(did_you_mean("writerz", &valid), Some("writers"));
        assert_eq!(did_you_mean("Kind", &valid), Some("kind"));
        assert_eq!(did_you_mean("increment", &valid), Some("increments"));
        assert_eq!(did_you_mean("zzz", &valid), None);
    }
}
