//! [`ModelAdmin`]: how one model shows in the admin — Django's `ModelAdmin` options. Without
//! options a model gets a usable admin from its own declaration.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use brisk_orm::migrations::DynRow;
use brisk_orm::{Database, Model, QuerySet};
use serde_json::Value as JsonValue;

/// What a custom action is given: the database, the selected rows' keys, and who runs it.
pub struct ActionContext {
    /// The app's database.
    pub db: Database,
    /// The keys of the selected rows.
    pub keys: Vec<JsonValue>,
    /// The username of whoever runs it.
    pub username: String,
}

/// What an action's function returns: a message for the page.
pub type ActionFuture = Pin<Box<dyn Future<Output = Result<String, brisk::Error>> + Send>>;

/// An action on the selected rows of a list page ("Mark as shipped"). `delete_selected` is
/// built in.
#[derive(Clone)]
pub struct Action {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    /// The permission action it needs on the model (`change`, `delete` ...).
    pub(crate) needs: &'static str,
    pub(crate) run: Arc<dyn Fn(ActionContext) -> ActionFuture + Send + Sync>,
}

impl Action {
    /// An action called `name` (in the form), shown as `label`, that needs the model's
    /// `needs` permission (`"change"`), running `run` on the selected rows.
    ///
    /// ```
    /// use brisk_admin::{Action, ActionContext};
    /// let archive = Action::new("archive", "Archive the selected items", "change", |cx: ActionContext| async move {
    ///     Ok(format!("{} archived", cx.keys.len()))
    /// });
    /// ```
    pub fn new<F, Fut>(name: &'static str, label: &'static str, needs: &'static str, run: F) -> Self
    where
        F: Fn(ActionContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, brisk::Error>> + Send + 'static,
    {
        Action { name, label, needs, run: Arc::new(move |cx| Box::pin(run(cx))) }
    }
}

/// Called before a row is saved from a form (with the values about to be written; change
/// them, or refuse with a message), as Django's `save_model`.
pub type SaveHook = Arc<dyn Fn(&mut DynRow, bool) -> Result<(), String> + Send + Sync>;

/// Called before a row is deleted in the admin (with its stored values): a message refuses.
pub type DeleteHook = Arc<dyn Fn(&DynRow) -> Result<(), String> + Send + Sync>;

/// A column computed from the row (`ModelAdmin::column`): its name in `list_display`, its
/// header, and the function that writes its text.
#[derive(Clone)]
pub(crate) struct Computed {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) text: Arc<dyn Fn(&DynRow) -> String + Send + Sync>,
}

/// The options of one model's admin (see [`ModelAdmin`]), without its type.
#[derive(Clone, Default)]
pub(crate) struct Options {
    pub(crate) list_display: Vec<&'static str>,
    pub(crate) list_display_links: Vec<&'static str>,
    pub(crate) list_editable: Vec<&'static str>,
    pub(crate) search_fields: Vec<&'static str>,
    pub(crate) list_filter: Vec<&'static str>,
    pub(crate) ordering: Vec<&'static str>,
    pub(crate) readonly_fields: Vec<&'static str>,
    pub(crate) fields: Vec<&'static str>,
    pub(crate) list_per_page: usize,
    pub(crate) actions: Vec<Action>,
    pub(crate) before_save: Option<SaveHook>,
    pub(crate) before_delete: Option<DeleteHook>,
    pub(crate) computed: Vec<Computed>,
    pub(crate) fieldsets: Vec<(&'static str, Vec<&'static str>)>,
    pub(crate) inlines: Vec<crate::inline::InlineSpec>,
    pub(crate) date_hierarchy: Option<&'static str>,
    pub(crate) title_fields: Vec<&'static str>,
}

/// How model `M` shows in the admin. `ModelAdmin::default()` lists the first fields, searches
/// nothing, and edits every field but the key and the automatic timestamps.
///
/// ```
/// # use brisk_orm::prelude::*;
/// # #[derive(Debug, Clone, Model)] struct Item { #[model(primary_key)] id: AutoId, name: String, price: f64, in_stock: bool }
/// use brisk_admin::ModelAdmin;
/// let items = ModelAdmin::<Item>::default()
///     .list_display(["name", "price", "in_stock"])
///     .search_fields(["name"])
///     .list_filter(["in_stock"])
///     .ordering(["-price"])
///     .list_per_page(50);
/// ```
pub struct ModelAdmin<M> {
    pub(crate) options: Options,
    pub(crate) scope: Option<Scope<M>>,
    model: PhantomData<fn() -> M>,
}

/// What narrows the rows an admin shows and touches (`ModelAdmin::queryset`).
pub(crate) type Scope<M> = Arc<dyn Fn(QuerySet<M>) -> QuerySet<M> + Send + Sync>;

impl<M: Model> Default for ModelAdmin<M> {
    fn default() -> Self {
        ModelAdmin {
            options: Options { list_per_page: 100, ..Options::default() },
            scope: None,
            model: PhantomData,
        }
    }
}

macro_rules! list_option {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub fn $name<const N: usize>(mut self, names: [&'static str; N]) -> Self {
            self.options.$name = names.to_vec();
            self
        }
    };
}

impl<M: Model> ModelAdmin<M> {
    list_option!(
        /// The list's columns: field names (a foreign key shows its row's title, loaded for
        /// the whole page in one query).
        list_display
    );
    list_option!(
        /// Which columns link to the change page (default: the first).
        list_display_links
    );
    list_option!(
        /// Columns edited right in the list (Django's `list_editable`): they must be columns of
        /// `list_display` and not links; one "Save" writes every changed row.
        list_editable
    );
    list_option!(
        /// Text fields the search box looks in (`icontains`; every word must match one of them).
        search_fields
    );
    list_option!(
        /// Fields filtered in the sidebar: booleans, choices, nullable fields, dates.
        list_filter
    );
    list_option!(
        /// The list's default order: field names, `-` first for descending.
        ordering
    );
    list_option!(
        /// Fields shown but not editable on the change page.
        readonly_fields
    );
    list_option!(
        /// The form's fields, in order (default: every editable field).
        fields
    );

    /// Rows per list page (default 100).
    pub fn list_per_page(mut self, n: usize) -> Self {
        self.options.list_per_page = n.clamp(1, 1000);
        self
    }

    /// Adds an action for the list's selected rows.
    pub fn action(mut self, action: Action) -> Self {
        self.options.actions.push(action);
        self
    }

    /// The text field that names a row (default: the first text field).
    pub fn title_field(mut self, name: &'static str) -> Self {
        self.options.title_fields = vec![name];
        self
    }

    /// Several fields that together name a row, joined with ` | ` (`app_label | model | name`).
    pub fn title_fields<const N: usize>(mut self, names: [&'static str; N]) -> Self {
        self.options.title_fields = names.to_vec();
        self
    }

    /// Narrows the rows of this admin (Django's `get_queryset`): the list, the forms, the
    /// actions and deletes see only what `scope` leaves, so a row outside it is a 404.
    ///
    /// ```
    /// # use brisk_orm::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Item { #[model(primary_key)] id: AutoId, name: String, archived: bool }
    /// let live = brisk_admin::ModelAdmin::<Item>::default().queryset(|qs| qs.filter(Item::archived().eq(false)));
    /// ```
    pub fn queryset(mut self, scope: impl Fn(QuerySet<M>) -> QuerySet<M> + Send + Sync + 'static) -> Self {
        self.scope = Some(Arc::new(scope));
        self
    }

    /// A column computed from the row, named `name` in `list_display` and headed `label`
    /// (Django's callable columns): `column("total", "Total", |row| ...)`. Not sortable.
    pub fn column(
        mut self,
        name: &'static str,
        label: &'static str,
        text: impl Fn(&DynRow) -> String + Send + Sync + 'static,
    ) -> Self {
        self.options.computed.push(Computed { name, label, text: Arc::new(text) });
        self
    }

    /// The form's fields in titled groups (Django's `fieldsets`): `[("Main", &["name", "price"]), ...]`.
    pub fn fieldsets(mut self, sets: &[(&'static str, &[&'static str])]) -> Self {
        self.options.fieldsets = sets.iter().map(|(title, names)| (*title, names.to_vec())).collect();
        self
    }

    /// Edits the rows of child model `C` on this model's page (Django's `TabularInline`): `fk`
    /// is `C`'s foreign key to this model, `fields` the columns of the inline's table; three
    /// empty rows add children. Children are changed, deleted and added in the parent's
    /// transaction, after every row was checked.
    ///
    /// ```
    /// # use brisk_orm::prelude::*;
    /// # #[derive(Debug, Clone, Model)] struct Order { #[model(primary_key)] id: AutoId, customer: String }
    /// # #[derive(Debug, Clone, Model)] struct Line { #[model(primary_key)] id: AutoId, #[model(on_delete = Cascade)] order: ForeignKey<Order>, product: String, quantity: i32 }
    /// let orders = brisk_admin::ModelAdmin::<Order>::default().inline::<Line>("order", &["product", "quantity"]);
    /// ```
    pub fn inline<C: Model + Send + Sync + 'static>(
        mut self,
        fk: &'static str,
        fields: &[&'static str],
    ) -> Self {
        self.options.inlines.push(crate::inline::InlineSpec {
            meta: C::META,
            fk,
            fields: fields.to_vec(),
            extra: 3,
            ops: Arc::new(crate::registry::Ops::<C> { scope: None, model: PhantomData }),
        });
        self
    }

    /// A date or timestamp field to drill into above the list (Django's `date_hierarchy`):
    /// the years from the oldest row to the newest, then a year's months, then a month's days.
    pub fn date_hierarchy(mut self, field: &'static str) -> Self {
        self.options.date_hierarchy = Some(field);
        self
    }

    /// Called before a row is deleted in the admin: a message refuses the delete.
    pub fn before_delete(
        mut self,
        hook: impl Fn(&DynRow) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.options.before_delete = Some(Arc::new(hook));
        self
    }

    /// Called before a row is saved from a form: `hook(values, adding)` may change the values
    /// or refuse with a message shown on the form.
    pub fn before_save(
        mut self,
        hook: impl Fn(&mut DynRow, bool) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.options.before_save = Some(Arc::new(hook));
        self
    }
}
