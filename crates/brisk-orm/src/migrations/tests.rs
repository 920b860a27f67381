use crate::migrations::*;
use crate::prelude::*;
use crate::{Model, OnDelete};

#[derive(Debug, Clone, Model)]
#[model(app_label = "shop", unique_together(["name", "maker"]), check(price_positive = "price > 0"))]
struct Product {
    #[model(primary_key)]
    id: AutoId,
    #[validate(max_length = 80)]
    name: String,
    maker: String,
    price: f64,
    #[model(on_delete = SetNull)]
    category: Option<ForeignKey<Category>>,
    labels: ManyToMany<Category>,
}

#[derive(Debug, Clone, Model)]
#[model(app_label = "shop", indexes(["name", "id"]))]
struct Category {
    #[model(primary_key)]
    id: AutoId,
    #[model(unique, column = "title")]
    name: String,
}

fn registry_state() -> ProjectState {
    ProjectState::from_registry(&[Product::META, Category::META])
}

fn initial() -> Migration {
    let state = registry_state();
    Migration {
        app: "shop".into(),
        name: "0001_initial".into(),
        dependencies: vec![],
        operations: vec![
            Operation::CreateModel { model: state.models["shop.Category"].clone() },
            Operation::CreateModel { model: state.models["shop.Product"].clone() },
        ],
    }
}

#[test]
fn the_registry_becomes_state() {
    let state = registry_state();
    let product = &state.models["shop.Product"];
    assert_eq!(product.table, "shop_product");
    let category = product.field("category").unwrap();
    assert_eq!(category.references.as_deref(), Some("shop.Category"));
    assert_eq!(category.on_delete, Some(OnDelete::SetNull));
    assert!(category.nullable && category.index);
    assert_eq!(product.field("name").unwrap().max_length, Some(80));
    assert_eq!(product.many_to_many[0].through, "shop_product_labels");
    assert_eq!(product.constraints.len(), 2);
    let name = state.models["shop.Category"].field("name").unwrap();
    assert_eq!((name.column(), name.unique), ("title", true));
}

#[test]
fn replaying_the_creation_rebuilds_the_declared_state() {
    let graph = Graph::new(vec![initial()]).unwrap();
    assert_eq!(graph.state().unwrap(), registry_state());
}

#[test]
fn files_round_trip_and_their_checksum_ignores_comments() {
    let m = initial();
    let text = m.to_toml();
    let back = Migration::parse("shop", "0001_initial", &text).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.checksum(), m.checksum());
    let commented =
        format!("# reviewed by ada\n{}", text.replace("\n[[operations]]", "\n\n# next\n[[operations]]"));
    assert_eq!(Migration::parse("shop", "0001_initial", &commented).unwrap().checksum(), m.checksum());
    let changed = text.replacen("shop_product", "shop_products", 1);
    assert_ne!(Migration::parse("shop", "0001_initial", &changed).unwrap().checksum(), m.checksum());
}

#[test]
fn a_bad_file_is_named_with_its_line() {
    let text = "dependencies = []\n\n[[operations]]\nop = \"AddColum\"\nmodel = \"shop.Product\"\n";
    let err = Migration::parse("shop", "0002_auto", text).unwrap_err();
    assert_eq!(err.file, "migrations/shop/0002_auto.toml");
    assert!(err.message.contains("line 3") || err.message.contains("line 4"), "{err}");
    assert!(err.message.contains("AddColum"), "{err}");
    let err = Migration::parse("shop", "2_auto", "").unwrap_err();
    assert!(err.message.contains("four digits"), "{err}");
    let err = Migration::parse("shop", "0002_auto", "dependencies = [\"nowhere\"]").unwrap_err();
    assert!(err.message.contains("nowhere"), "{err}");
    let err = Migration::parse("shop", "0002_auto", "surprise = 1").unwrap_err();
    assert!(err.message.contains("surprise"), "{err}");
}

fn migration(app: &str, name: &str, deps: &[&str]) -> Migration {
    Migration {
        app: app.into(),
        name: name.into(),
        dependencies: deps.iter().map(|d| (*d).to_owned()).collect(),
        operations: vec![],
    }
}

#[test]
fn the_graph_orders_by_dependencies_and_names_what_is_wrong() {
    let graph = Graph::new(vec![
        migration("shop", "0002_more", &["shop/0001_initial", "auth/0001_initial"]),
        migration("shop", "0001_initial", &[]),
        migration("auth", "0001_initial", &[]),
    ])
    .unwrap();
    let order: Vec<String> = graph.ordered().map(Migration::key).collect();
    assert_eq!(order, ["auth/0001_initial", "shop/0001_initial", "shop/0002_more"]);
    assert_eq!(graph.head("shop").map(Migration::key).as_deref(), Some("shop/0002_more"));

    let missing = Graph::new(vec![migration("shop", "0002_more", &["shop/0001_initial"])]).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "migrations/shop/0002_more.toml depends on shop/0001_initial, which does not exist"
    );

    let cycle =
        Graph::new(vec![migration("a", "0001_x", &["b/0001_y"]), migration("b", "0001_y", &["a/0001_x"])])
            .unwrap_err();
    assert!(matches!(&cycle, GraphError::Cycle { path } if path.len() == 3), "{cycle}");

    let conflict = Graph::new(vec![
        migration("shop", "0001_initial", &[]),
        migration("shop", "0002_a", &["shop/0001_initial"]),
        migration("shop", "0002_b", &["shop/0001_initial"]),
    ])
    .unwrap_err();
    assert!(conflict.to_string().contains("shop/0002_a, shop/0002_b"), "{conflict}");
}

#[test]
fn operations_change_the_state_and_refuse_what_does_not_fit() {
    let mut second = migration("shop", "0002_rename", &["shop/0001_initial"]);
    second.operations = vec![
        Operation::RenameField { model: "shop.Category".into(), old: "name".into(), new: "label".into() },
        Operation::RenameModel { old: "shop.Category".into(), new: "Kind".into(), table: "shop_kind".into() },
    ];
    let graph = Graph::new(vec![initial(), second]).unwrap();
    let state = graph.state().unwrap();
    let kind = &state.models["shop.Kind"];
    assert_eq!(kind.indexes, [["label", "id"]], "the index follows the renamed field");
    assert_eq!(kind.field("label").unwrap().column(), "title");
    let product = &state.models["shop.Product"];
    assert_eq!(product.field("category").unwrap().references.as_deref(), Some("shop.Kind"));
    assert_eq!(product.many_to_many[0].to, "shop.Kind");

    let mut bad = migration("shop", "0002_bad", &["shop/0001_initial"]);
    bad.operations = vec![
        Operation::RemoveField {
            model: "shop.Product".into(),
            field: registry_state().models["shop.Product"].field("price").unwrap().clone(),
        },
        Operation::RemoveIndex { model: "shop.Product".into(), fields: vec!["nope".into()] },
    ];
    let err = Graph::new(vec![initial(), bad]).unwrap().state().unwrap_err();
    assert_eq!(
        err.to_string(),
        "migrations/shop/0002_bad.toml, operation 2: shop.Product has no index on (nope)"
    );
}

fn after(op: &Operation, before: &ProjectState) -> ProjectState {
    let mut state = before.clone();
    op.state_forwards(&mut state).unwrap();
    state
}

fn texts(steps: Vec<Step>) -> Vec<String> {
    steps
        .into_iter()
        .map(|s| match s {
            Step::Sql(sql) => sql,
            Step::ForeignKeyCheck(t) => format!("fk_check {t}"),
            Step::Rust(name) => format!("rust {name}"),
        })
        .collect()
}

#[test]
fn a_not_null_field_added_fills_the_rows_there() {
    let before = registry_state();
    let field = FieldState::new("stock", crate::ColumnKind::BigInt);
    let op = Operation::AddField { model: "shop.Product".into(), field, fill: Some(Fill::Int(0)) };
    let after = after(&op, &before);
    let pg = texts(steps(&op, &before, &after, crate::Dialect::Postgres).unwrap());
    assert_eq!(
        pg,
        [
            r#"ALTER TABLE "shop_product" ADD COLUMN "stock" BIGINT NOT NULL DEFAULT 0"#,
            r#"ALTER TABLE "shop_product" ALTER COLUMN "stock" DROP DEFAULT"#
        ]
    );
    let sqlite = texts(steps(&op, &before, &after, crate::Dialect::Sqlite).unwrap());
    assert!(sqlite[0].starts_with(r#"CREATE TABLE "new__shop_product" ("#), "{sqlite:?}");
    assert!(sqlite[1].starts_with(r#"INSERT INTO "new__shop_product" ("id", "name", "maker", "price", "category", "stock") SELECT "id", "name", "maker", "price", "category", 0 FROM "shop_product""#), "{sqlite:?}");
    assert!(sqlite.contains(&r#"DROP TABLE "shop_product""#.to_owned()));
    assert!(sqlite.contains(&r#"ALTER TABLE "new__shop_product" RENAME TO "shop_product""#.to_owned()));
    assert_eq!(sqlite.last().map(String::as_str), Some("fk_check shop_product"));
}

#[test]
fn a_type_change_converts_on_postgres() {
    let before = registry_state();
    let mut field = before.models["shop.Product"].field("maker").unwrap().clone();
    field.kind = crate::ColumnKind::BigInt;
    let op = Operation::AlterField { model: "shop.Product".into(), field, fill: None };
    let after = after(&op, &before);
    let pg = texts(steps(&op, &before, &after, crate::Dialect::Postgres).unwrap());
    assert_eq!(pg, [r#"ALTER TABLE "shop_product" ALTER COLUMN "maker" TYPE BIGINT USING "maker"::BIGINT"#]);
}

fn with_field(mut state: ProjectState, model: &str, field: FieldState) -> ProjectState {
    state.models.get_mut(model).unwrap().fields.push(field);
    state
}

fn text_field(name: &str) -> FieldState {
    FieldState::new(name, crate::ColumnKind::Text)
}

#[test]
fn the_detector_writes_the_first_migration_and_then_nothing() {
    let declared = registry_state();
    let graph = Graph::new(vec![]).unwrap();
    let first = next_migration(&graph, &declared, "shop", &mut NonInteractive).unwrap().unwrap();
    assert_eq!(first.name, "0001_initial");
    let kinds: Vec<String> = first.operations.iter().map(Operation::describe).collect();
    assert_eq!(
        kinds,
        ["+ model shop.Category", "+ model shop.Product", "+ shop.Product.labels (many-to-many)"]
    );
    // Replayed, it builds the declared state: a second run finds nothing to do.
    let graph = Graph::new(vec![first]).unwrap();
    assert_eq!(graph.state().unwrap(), declared);
    assert!(next_migration(&graph, &declared, "shop", &mut NonInteractive).unwrap().is_none());
}

#[test]
fn renames_and_not_null_fields_are_asked_never_guessed() {
    let graph = Graph::new(vec![initial()]).unwrap();
    let built = graph.state().unwrap();
    // A NOT NULL field without a default: without a terminal, a sentence saying what to add.
    let declared = with_field(built.clone(), "shop.Product", text_field("sku"));
    let err = next_migration(&graph, &declared, "shop", &mut NonInteractive).unwrap_err().to_string();
    assert!(err.contains("shop.Product.sku") && err.contains("#[model(default = ...)]"), "{err}");
    let mut ask = Scripted {
        fills: vec![("shop.Product.sku".into(), Fill::Text("none".into()))],
        ..Default::default()
    };
    let m = next_migration(&graph, &declared, "shop", &mut ask).unwrap().unwrap();
    assert_eq!(m.name, "0002_auto");
    assert_eq!(m.dependencies, ["shop/0001_initial"]);
    assert!(
        matches!(&m.operations[..], [Operation::AddField { fill: Some(Fill::Text(t)), .. }] if t == "none")
    );

    // A field renamed: removed + added unless someone says it is a rename.
    let mut renamed = built.clone();
    let product = renamed.models.get_mut("shop.Product").unwrap();
    product.fields.iter_mut().find(|f| f.name == "maker").unwrap().name = "brand".into();
    product.constraints[0] = Constraint::Unique { fields: vec!["name".into(), "brand".into()] };
    // Without a terminal no rename is assumed; and the new NOT NULL field then needs a value
    // for the rows there, so the run stops with a sentence instead of dropping maker's data.
    let err = next_migration(&graph, &renamed, "shop", &mut NonInteractive).unwrap_err().to_string();
    assert!(err.contains("shop.Product.brand"), "{err}");
    let mut nullable = renamed.clone();
    nullable
        .models
        .get_mut("shop.Product")
        .unwrap()
        .fields
        .iter_mut()
        .find(|f| f.name == "brand")
        .unwrap()
        .nullable = true;
    let m = next_migration(&graph, &nullable, "shop", &mut NonInteractive).unwrap().unwrap();
    let kinds: Vec<String> = m.operations.iter().map(Operation::describe).collect();
    assert_eq!(
        kinds,
        [
            "- constraint on shop.Product: Unique { fields: [\"name\", \"maker\"] }",
            "- shop.Product.maker",
            "+ shop.Product.brand (Text)",
            "+ constraint on shop.Product: Unique { fields: [\"name\", \"brand\"] }",
        ],
        "defined differently: not a rename; the constraint goes before its field and comes back after"
    );
    let mut ask =
        Scripted { renames: vec![("shop.Product.maker".into(), "brand".into())], ..Default::default() };
    let m = next_migration(&graph, &renamed, "shop", &mut ask).unwrap().unwrap();
    assert!(
        matches!(&m.operations[..], [Operation::RenameField { old, new, .. }] if old == "maker" && new == "brand"),
        "{:?}",
        m.operations
    );
}

#[test]
fn a_declared_rename_needs_no_question_even_with_a_new_type() {
    let graph = Graph::new(vec![initial()]).unwrap();
    let mut declared = graph.state().unwrap();
    let product = declared.models.get_mut("shop.Product").unwrap();
    let maker = product.fields.iter_mut().find(|f| f.name == "maker").unwrap();
    maker.name = "brand".into();
    maker.max_length = Some(40);
    product.constraints[0] = Constraint::Unique { fields: vec!["name".into(), "brand".into()] };
    declared.renamed_from.insert(("shop.Product".into(), "brand".into()), "maker".into());
    let m = next_migration(&graph, &declared, "shop", &mut NonInteractive).unwrap().unwrap();
    let kinds: Vec<String> = m.operations.iter().map(Operation::describe).collect();
    assert_eq!(kinds, ["~ shop.Product.maker renamed to brand", "~ shop.Product.brand altered"]);
    // The attribute left in the code changes nothing once the rename is applied.
    let graph = Graph::new(vec![initial(), m]).unwrap();
    assert!(next_migration(&graph, &declared, "shop", &mut NonInteractive).unwrap().is_none());
}
