//! Tuples of head extractors are extractors (a dependency's inputs are one).

use http::request::Parts;

use super::{FromRequestParts, RequestContext};
use crate::error::Error;
use crate::openapi::{DescribeInput, DocContext, Operation};

impl FromRequestParts for () {
    async fn from_request_parts(_parts: &mut Parts, _cx: &RequestContext) -> Result<Self, Error> {
        Ok(())
    }
}

impl DescribeInput for () {
    fn describe_input(_cx: &mut DocContext, _op: &mut Operation) {}
}

macro_rules! tuple {
    ($($ty:ident),+) => {
        #[allow(non_snake_case)]
        impl<$($ty: FromRequestParts + Send),+> FromRequestParts for ($($ty,)+) {
            async fn from_request_parts(parts: &mut Parts, cx: &RequestContext) -> Result<Self, Error> {
                let mut errors = Vec::new();
                $(
                    let $ty = match $ty::from_request_parts(parts, cx).await {
                        Ok(value) => Some(value),
                        Err(e) => {
                            e.gather_into(&mut errors)?;
                            None
                        }
                    };
                )+
                if !errors.is_empty() {
                    return Err(Error::validation(errors));
                }
                match ($($ty,)+) {
                    ($(Some($ty),)+) => Ok(($($ty,)+)),
                    _ => Err(Error::internal("an extractor failed without an error")),
                }
            }
        }

        impl<$($ty: DescribeInput),+> DescribeInput for ($($ty,)+) {
            fn describe_input(cx: &mut DocContext, op: &mut Operation) {
                $($ty::describe_input(cx, op);)+
            }
        }
    };
}

tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
tuple!(A, B, C, D, E, F, G);
tuple!(A, B, C, D, E, F, G, H);
